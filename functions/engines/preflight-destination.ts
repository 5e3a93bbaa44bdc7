import type { DestinationFacts } from '../ports/preflight.js';
import { type PreflightCheck, passed } from './preflight-check.js';

/** The destination checks of the pre-flight, judged from what the probe read. */
export function destinationChecks(facts: DestinationFacts): PreflightCheck[] {
  return [
    passed('destination.connection', `logged in to ${facts.endpoint}, ClickHouse ${facts.serverVersion}`),
    rightsCheck(facts),
  ];
}

function rightsCheck({ databases }: DestinationFacts): PreflightCheck {
  const unchecked = databases.filter((database) => !database.checked);
  const lacking = databases.flatMap((database) =>
    database.checked && database.missing.length > 0
      ? [`${database.missing.join(', ')} on ${database.database}.*`]
      : [],
  );
  if (lacking.length > 0)
    return {
      id: 'destination.rights',
      status: 'failed',
      message: `the user lacks ${lacking.join('; ')}`,
      advice:
        'GRANT these to the pipe user (CREATE DATABASE is needed only while the database does not exist): ' +
        'Setup creates the tables and the pipe writes, reads, optimizes and drops them',
    };
  if (unchecked.length > 0)
    return {
      id: 'destination.rights',
      status: 'warned',
      message: unchecked
        .map((database) => `${database.database}: ${'reason' in database ? database.reason : ''}`)
        .join('; '),
      advice: 'check by hand that the user may create, alter, insert into, select from and drop tables there',
    };
  const described = databases.map((database) =>
    database.exists ? `${database.database} (exists)` : `${database.database} (to be created)`,
  );
  return passed('destination.rights', `the user may create and write the tables in ${described.join(', ')}`);
}
