// Counting words in messages: `1 step`, `3 steps`, `2 policies`.

/** `n` and the word for it: `one` for 1, `many` (default `one` + "s") otherwise. */
export function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}
