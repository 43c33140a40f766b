// CI runs this suite with CI=true. Ink (through is-in-ci, read when Ink is imported) then draws only
// the final frame, which is right for a CI log but not for tests of live frames; the console and the
// demo read the same variables. Tests that need CI behaviour set the variables themselves.
process.env.CI = 'false';
delete process.env.CONTINUOUS_INTEGRATION;
