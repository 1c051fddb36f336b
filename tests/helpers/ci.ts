/**
 * True under a CI runner. CI services set `CI` to `true`, `1` or `yes` (GitHub, GitLab and
 * Buildkite use `true`, others `1`); only an unset, empty, `0` or `false` value means "not CI",
 * so a missing program or model fails there instead of quietly skipping.
 */
export function underCI(env: NodeJS.ProcessEnv = process.env): boolean {
  const v = (env['CI'] ?? '').trim().toLowerCase();
  return v !== '' && v !== '0' && v !== 'false' && v !== 'no';
}
