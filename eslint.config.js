// ESLint flat config (`npm run lint`, part of `npm test`): eslint:recommended
// plus typescript-eslint's recommended rules, the non-type-checked set (no
// type information, so it stays fast on 2 cores; tsc --strict checks types).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', 'bench/native/build/', '.qallow/', 'coverage/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    linterOptions: {
      // Some sources carry directives for rules this set does not enable
      // (explicit-function-return-type, where a chained commander type is the
      // point); they are notes for a stricter set, not mistakes.
      reportUnusedDisableDirectives: 'off',
    },
    rules: {
      // The code base's convention: a leading underscore marks a parameter or
      // binding kept for its position or shape (`_msg`, `[_, x]`).
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrorsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_' },
      ],
      // Off: `let ref` bound to the value of a call whose callbacks read it
      // (actors/phase.ts, bench/governance-node.ts) cannot be `const`, and
      // `ignoreReadBeforeAssign` does not see reads inside those callbacks.
      'prefer-const': 'off',
      // Off: runtime/actors/cell.ts aliases `this` once so that getters in the
      // actor context object can read the cell's #private fields.
      '@typescript-eslint/no-this-alias': 'off',
    },
  },
  {
    files: ['**/*.js'],
    languageOptions: { globals: { process: 'readonly', console: 'readonly' } },
  },
);
