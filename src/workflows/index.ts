// Entry point for the worker's workflow bundle: export workflows only.
export { bookingEventWorkflow } from './booking-event';
export { patientOutreachWorkflow } from './patient-outreach';
export { campaignWorkflow } from './campaign';
export { campaignPageWorkflow } from './campaign-page';
