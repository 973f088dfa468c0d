/**
 * Which children a strategy restarts when `failed` fails. `children` is in
 * start order (children stopped for good left out); so is the result.
 */
import type { Strategy } from './contract.js';

export function selectForRestart<C>(strategy: Strategy, children: readonly C[], failed: C): C[] {
  const i = children.indexOf(failed);
  if (i < 0) return [failed];
  switch (strategy) {
    case 'one-for-one':
      return [failed];
    case 'one-for-all':
      return [...children];
    case 'rest-for-one':
      return children.slice(i);
  }
}
