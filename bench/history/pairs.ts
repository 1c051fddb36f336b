/**
 * The held-in retrieval set: 50 camera events, each with a question a user might ask about
 * it, written for the bench. Questions paraphrase the event (other words where natural) so
 * that neither keyword nor vector search gets them for free.
 */
export interface Pair {
  camera: string;
  summary: string;
  question: string;
}

export const PAIRS: Pair[] = [
  { camera: 'front_door', summary: 'A courier in a yellow raincoat leaves a large flat parcel on the porch', question: 'when was the flat package left on the porch?' },
  { camera: 'driveway', summary: 'A white delivery van reverses into the driveway and stops near the garage', question: 'did a van back into the driveway?' },
  { camera: 'garden', summary: 'A fox crosses the lawn and sniffs the vegetable patch', question: 'was there a fox in the garden?' },
  { camera: 'front_door', summary: 'A child rings the doorbell holding a football', question: 'did a kid with a ball ring the bell?' },
  { camera: 'backyard', summary: 'The trampoline was blown over by strong wind', question: 'when did the wind knock the trampoline over?' },
  { camera: 'driveway', summary: 'A red sports car parks behind the blue hatchback', question: 'when did the red sports car arrive?' },
  { camera: 'garage', summary: 'The garage door is left open with nobody around', question: 'was the garage left open?' },
  { camera: 'front_door', summary: 'A postman drops letters through the mail slot', question: 'when did the mail come?' },
  { camera: 'garden', summary: 'Two deer eat the roses near the fence', question: 'did deer eat the roses?' },
  { camera: 'backyard', summary: 'A cat sleeps on the patio chair in the sun', question: 'was the cat sleeping on the chair?' },
  { camera: 'street', summary: 'A garbage truck empties the green recycling bins', question: 'when did the bin lorry collect the recycling?' },
  { camera: 'front_door', summary: 'A man in a hi-vis vest reads the electricity meter', question: 'did someone come to read the meter?' },
  { camera: 'driveway', summary: 'A bicycle was leaning against the gate overnight', question: 'was a bike left by the gate?' },
  { camera: 'garden', summary: 'The sprinkler is running and water sprays onto the path', question: 'when was the sprinkler on?' },
  { camera: 'backyard', summary: 'A drone hovers low over the swimming pool', question: 'did a drone fly over the pool?' },
  { camera: 'street', summary: 'An ambulance with flashing lights stops across the road', question: 'was there an ambulance outside?' },
  { camera: 'front_door', summary: 'A woman with an umbrella leaves flowers on the doorstep', question: 'who left the flowers on the doorstep?' },
  { camera: 'garage', summary: 'A ladder fell over onto the workbench', question: 'when did the ladder fall?' },
  { camera: 'driveway', summary: 'A tow truck hooks up the silver sedan', question: 'was the silver car towed?' },
  { camera: 'garden', summary: 'A hedgehog walks along the flower bed at night', question: 'did a hedgehog come through the flower bed?' },
  { camera: 'backyard', summary: 'Smoke rises from the barbecue grill on the deck', question: 'was the barbecue smoking?' },
  { camera: 'street', summary: 'A police car patrols slowly past the houses', question: 'did the police drive by?' },
  { camera: 'front_door', summary: 'A pizza delivery rider waits at the door with a box', question: 'when did the pizza arrive?' },
  { camera: 'garage', summary: 'A mouse runs along the shelf with paint cans', question: 'is there a mouse in the garage?' },
  { camera: 'driveway', summary: 'Snow covers the car and the driveway is white', question: 'when did it snow on the driveway?' },
  { camera: 'garden', summary: 'A gardener trims the tall hedge with an electric trimmer', question: 'did the gardener cut the hedge?' },
  { camera: 'backyard', summary: 'The dog digs a hole next to the shed', question: 'was the dog digging by the shed?' },
  { camera: 'street', summary: 'A moving truck unloads furniture for the neighbours', question: 'were the neighbours moving furniture?' },
  { camera: 'front_door', summary: 'Two children in costumes knock on the door for trick or treat', question: 'did trick or treaters come?' },
  { camera: 'garage', summary: 'Water is leaking from the washing machine onto the floor', question: 'is the washing machine leaking?' },
  { camera: 'driveway', summary: 'A motorcycle with a loud exhaust parks by the hedge', question: 'when did the motorbike come?' },
  { camera: 'garden', summary: 'A heron stands by the fish pond', question: 'was a heron at the pond?' },
  { camera: 'backyard', summary: 'Laundry on the washing line blows in the wind', question: 'is the washing still on the line?' },
  { camera: 'street', summary: 'A fire engine drives past with sirens on', question: 'did a fire engine go past?' },
  { camera: 'front_door', summary: 'A neighbour returns the borrowed drill and leaves it on the bench', question: 'did the neighbour bring the drill back?' },
  { camera: 'garage', summary: 'The electric car is plugged into the wall charger', question: 'was the car charging in the garage?' },
  { camera: 'driveway', summary: 'A skateboarder rides down the driveway and jumps the kerb', question: 'was someone skateboarding on the driveway?' },
  { camera: 'garden', summary: 'Squirrels raid the bird feeder hanging from the apple tree', question: 'were squirrels at the bird feeder?' },
  { camera: 'backyard', summary: 'A wasp nest hangs under the roof of the shed', question: 'is there a wasp nest?' },
  { camera: 'street', summary: 'A street sweeper machine cleans the gutter', question: 'when did the road sweeper come?' },
  { camera: 'front_door', summary: 'A grocery delivery driver stacks shopping bags by the door', question: 'when were the groceries delivered?' },
  { camera: 'garage', summary: 'The freezer door is open and light spills out', question: 'was the freezer left open?' },
  { camera: 'driveway', summary: 'A taxi waits with its engine running and hazard lights on', question: 'did a taxi come to pick someone up?' },
  { camera: 'garden', summary: 'Hail stones cover the grass after a storm', question: 'did it hail in the garden?' },
  { camera: 'backyard', summary: 'A hot air balloon drifts over the trees', question: 'was there a balloon in the sky?' },
  { camera: 'street', summary: 'A school bus picks up children at the corner', question: 'when did the school bus come?' },
  { camera: 'front_door', summary: 'A window cleaner on a ladder washes the upstairs windows', question: 'did the window cleaner come?' },
  { camera: 'garage', summary: 'A wheelbarrow full of bricks blocks the side entrance', question: 'what is blocking the side door?' },
  { camera: 'driveway', summary: 'An oil stain spreads under the parked pickup truck', question: 'is the pickup leaking oil?' },
  { camera: 'garden', summary: 'A robot lawn mower is stuck against the fence post', question: 'did the robot mower get stuck?' },
];

/** Filler sentences for the 100 000 other rows: everyday scenes sharing much of the vocabulary. */
export const FILLER = [
  'A person walks past the {place} carrying a bag',
  'A car drives slowly along the street past the {place}',
  'Nothing is happening at the {place}; the scene is quiet',
  'A delivery driver walks to the {place} and back',
  'A cat walks along the fence near the {place}',
  'A dog runs across the {place}',
  'Two people talk near the {place}',
  'Leaves blow across the {place} in the wind',
  'A parked car stands in front of the {place}',
  'Headlights sweep over the {place} at night',
  'A jogger runs past the {place}',
  'Rain falls on the {place}; nobody is visible',
  'A bird lands on the {place}',
  'A neighbour walks a dog past the {place}',
  'A van stops briefly near the {place}',
];
export const PLACES = ['front door', 'driveway', 'garden', 'backyard', 'street', 'garage', 'gate', 'porch', 'path', 'hedge'];
