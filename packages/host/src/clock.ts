// Time as a collaborator, so expiry, schedules and stamps are testable.

/** A source of the current time. */
export interface Clock {
  now(): Date;
}

/** The real clock. */
export const systemClock: Clock = { now: () => new Date() };

/**
 * A clock that stands still (tests, reproducible renders).
 * @param at the time it shows
 * @returns a {@link Clock}
 */
export function fixedClock(at: Date | string | number): Clock {
  const ms = new Date(at).getTime();
  return { now: () => new Date(ms) };
}
