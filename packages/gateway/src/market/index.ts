export { type AggregationOffers, offersFromPlan } from './plan-offers.ts';
export {
  type AggregationView,
  type AwardImport,
  awardProgramId,
  MarketService,
  type MarketServiceOptions,
} from './service.ts';
export {
  AggregationStore,
  AwardStore,
  awardDocumentId,
  MARKET_AGGREGATIONS_NAMESPACE,
  MARKET_AWARDS_NAMESPACE,
  type StoredAward,
} from './stores.ts';
