/**
 * Attempts that settle after they are returned: a response that arrives before its outcome is
 * known. A gRPC server stream resolves at its commit point (the first headers or message) and
 * ends, much later, with the status in its trailers. The call stack must see the commit (so retry
 * never sends a committed stream again, and the caller gets the stream at once); the endpoint's
 * health and load must see the end (a stream that fails with UNAVAILABLE is a failure of that
 * endpoint, and an open stream keeps it busy). tower solves the same problem with
 * `TrackCompletion` ("When does a request complete?", tower/src/load/completion.rs): the load
 * handle travels with the response and is dropped when the stream is done.
 *
 * A protocol that has such responses gives the balancer a {@link CompletionTracker}. When an
 * attempt resolves with a response that the classifier does not call a failure, the balancer asks
 * `completesLater(response)`. If true, it settles the attempt in two steps:
 *
 *   at the response    classified (`ctx.classification`): what retry, hedge, the breaker and the
 *                      caller see; the RTT sample for the load metric is taken here, from the pick
 *                      to the response, as for HTTP's headers.
 *   at completion      `completion.complete(outcome, failed)`: the final outcome is classified
 *                      with the same classifier, then it reaches the endpoint stack (`settled`:
 *                      failure accrual), the load metric (the request stops counting as pending;
 *                      the RTT taken at the response is folded in, judged by the final outcome),
 *                      the endpoint's success rate and telemetry (`attemptFinished`, timed to the
 *                      end). Never retry: the call was over when the response was returned.
 *
 * A response the classifier calls a failure settles at once, as every attempt does without a
 * tracker: its outcome is already known, and retry may act on it. A tracked response can still be
 * discarded (`ProtocolAdapter.discard`: a hedge's losing copy that had committed too); it must
 * complete all the same, and the protocol's classifier should call that end `ignorable`, as it
 * says nothing of the endpoint. Protocols without late outcomes (HTTP: a response body is not
 * judged again) give no tracker and pay nothing for this.
 */
export interface CompletionTracker<Res> {
  /** Whether `response`'s final outcome comes after it (a stream whose status comes last). Cheap: asked once per attempt. */
  completesLater(response: Res): boolean;
  /**
   * Arrange for `completion.complete(outcome, failed)` to be called once, when the final outcome
   * of `response` is known: the final status as a response (`failed` false) for the classifier to
   * judge, or the error that ended it (`failed` true). Called right after
   * {@link completesLater} said true.
   */
  track(response: Res, completion: AttemptCompletion): void;
}

/** The handle a {@link CompletionTracker} reports a late outcome through. */
export interface AttemptCompletion {
  /** The attempt's final outcome. Only the first call counts; later ones do nothing. */
  complete(outcome: unknown, failed: boolean): void;
}
