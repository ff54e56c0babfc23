export * from './baselines/index.ts';
export * from './contract.ts';
export * from './ledger/index.ts';
export * from './market/index.ts';
export * from './time.ts';
