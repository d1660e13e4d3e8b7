// The sequential judge (issue 14): pure. Counter samples → batch counts → evidence → assessment.
export { batchFromSeries, counterDelta, emptyBatch, type ArmBatch, type BatchCounts, type SeriesRole, type SeriesSample } from './counters.ts';
export { CounterError, EvidenceMismatchError, JudgeSettingsError } from './errors.ts';
export { addBatch, evidenceMatches, initialEvidence, splitLogFactor, type Evidence } from './evidence.ts';
export { assess, combinedState, exposureFloor, ratioEstimate, ratioInterval, type Assessment, type Gauge } from './assess.ts';
export { validateSettings, type JudgeSettings } from './settings.ts';
export type { SrmEvidence } from './srm.ts';
export { checkedEdge, edgeAtOrAboveQuantile } from './edge.ts';
export { EvidenceSchema, parseEvidence } from './schema.ts';
