import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export interface ResumeTokenVector {
  what: string;
  _data: string;
  decoded: Record<string, unknown> & { clusterTime: { t: number; i: number } };
}

/** Where the vectors live: a copy, in the repository, of the team's shared mongodb-resume-tokens.json. */
export const RESUME_TOKEN_VECTORS_FILE = join(
  import.meta.dirname,
  '..',
  'fixtures',
  'mongodb-resume-tokens.json',
);

/** Resume tokens produced by real MongoDB servers, with their decoded fields. */
export function resumeTokenVectors(): ResumeTokenVector[] {
  const file = JSON.parse(readFileSync(RESUME_TOKEN_VECTORS_FILE, 'utf8')) as { tokens: ResumeTokenVector[] };
  return file.tokens;
}
