// Progress events of an apply or recover: `apply --progress` prints each as one JSON line on stderr.
//   {"event":"phase","phase":"check"|"files"|"post","status":"start"|"done"}
//   {"event":"recover","action":"none"|"rolled-back"|"completed"|"cleaned","steps":N}
//   {"event":"verified","product":P,"component":C,"from":V|null,"to":V}
//   {"event":"plan","counts":{"mkdir":N,"add":N,"modify":N,"delete":N,"rmdir":N},"kept":N}
//   {"event":"staged","files":N,"bytes":N}
//   {"event":"file","n":K,"total":N,"op":"mkdir"|"add"|"modify"|"delete"|"rmdir","path":P}   one per committed step
//   {"event":"committed","steps":N}
//   {"event":"rollback","n":K,"op":OP,"path":P}                                                  one per undone step
//   {"event":"post","step":I,"argv":[...],"status":"start"|"done"|"failed","exitCode":N,"signal":S,"timedOut":B,"durationMs":N}
export type ProgressEvent = { event: string } & Record<string, unknown>;

export type ProgressSink = (event: ProgressEvent) => void;

export const noProgress: ProgressSink = () => undefined;
