import pg from 'pg';

const c = new pg.Client({
  connectionString: 'postgres://postgres@127.0.0.1:5432/test?options=' + encodeURIComponent('-c switchyard.wake=off'),
});
await c.connect();
console.log((await c.query("SELECT current_setting('switchyard.wake', true) AS v")).rows);
const d = new pg.Client({ connectionString: 'postgres://postgres@127.0.0.1:5432/test' });
await d.connect();
console.log((await d.query("SELECT current_setting('switchyard.wake', true) AS v")).rows);
await c.end();
await d.end();
