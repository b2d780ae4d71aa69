/** Default task queue for hero-flow workflows and activities (override with HERO_TASK_QUEUE). */
export const DEFAULT_TASK_QUEUE = 'hero-flow';
