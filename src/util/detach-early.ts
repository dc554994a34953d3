/**
 * Detaches one throwaway ArrayBuffer in this thread. Until an ArrayBuffer is first detached in an
 * isolate (moved to another thread by a transfer list), V8 assumes none ever is and compiles
 * typed-array access without the check; the first detach throws away all code compiled on that
 * assumption. The first pass's scanner thread moves its first batch's columns only after V8 has
 * compiled its scan, which then ran in the interpreter again until compiled a second time
 * (`--trace-deopt`: "code dependencies" for the scan, its string, number and time readers at the
 * first range's end, then every one of them compiled again). Called where a thread starts, before
 * its hot code is compiled, it makes the assumption false while nothing relies on it yet.
 */
export function detachEarly(): void {
  const buffer = new ArrayBuffer(8);
  structuredClone(buffer, { transfer: [buffer] });
  if (buffer.byteLength !== 0) throw new Error('structuredClone did not detach the transferred buffer');
}
