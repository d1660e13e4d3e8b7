// Typed errors of the judge: bad settings (naming the field) and bad counter input (naming the series).

export class JudgeSettingsError extends Error {
  readonly problems: readonly string[];
  constructor(problems: readonly string[]) {
    super(`invalid judge settings: ${problems.join('; ')}`);
    this.name = 'JudgeSettingsError';
    this.problems = problems;
  }
}

/** A counter sample or a batch count the judge refuses (negative, not finite, duplicated). */
export class CounterError extends Error {
  readonly field: string;
  constructor(field: string, message: string) {
    super(`${field}: ${message}`);
    this.name = 'CounterError';
    this.field = field;
  }
}

/** Evidence built under other grid settings (tolerance, maxRatio) or another format version. */
export class EvidenceMismatchError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'EvidenceMismatchError';
  }
}
