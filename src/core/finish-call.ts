/**
 * Finishing a call from a frame of its own: await it, then let CallContext.finishCall clean up,
 * explain a failure and tell the observer. Used by whichever layer has to finish a call when no
 * layer below did (the deadline, the observe role, the client itself).
 */
import type { CallContext } from './context.js';

export async function finishWhenSettled<Res>(pending: Promise<Res>, ctx: CallContext): Promise<Res> {
  let res: Res;
  try {
    res = await pending;
  } catch (error) {
    throw ctx.finishCall(true, error);
  }
  ctx.finishCall(false, res);
  return res;
}
