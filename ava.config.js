// Tests are compiled by `tsc` into dist/ first (npm test does both), so ava
// runs plain ESM and worker threads load the same compiled files as production.
export default {
  files: ['dist/test/**/*.test.js'],
  timeout: '120s',
  concurrency: 2,
  workerThreads: false,
};
