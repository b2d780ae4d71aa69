// Entry point for the worker's workflow bundle: export workflows only.
export { patientOutreachWorkflow } from './patient-outreach';
