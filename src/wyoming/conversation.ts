import { randomUUID } from 'node:crypto';
import { BackendError } from '../core/errors.js';
import { askText, type AskGenerate } from '../sources/ask.js';
import { capAnswer } from '../voice/spoken-answer.js';

/**
 * The conversation agent's answer: the transcript goes through the bridge's ask path (the same
 * one as `sarai/ask`, so history questions are answered the same way), and the answer is capped
 * at a sentence end like a satellite's, since HA speaks it. A failure throws (-> `not-handled`).
 */
export function conversationAgent(ask: AskGenerate, maxAnswerChars: number): (text: string) => Promise<string> {
  return async (text) => {
    const a = await askText(ask, { text, id: randomUUID() });
    if (a.error) throw new BackendError(`SARAi could not answer: ${a.error}`);
    if (!a.text.trim()) throw new BackendError('SARAi could not answer: the text model returned nothing');
    return capAnswer(a.text.trim(), maxAnswerChars, false).text;
  };
}
