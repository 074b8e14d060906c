import base64, collections
import rome.storage.etcd as E
orig = E._Members._post
TRACE = [False]
def post(self, i, path, body, *a, **k):
    if TRACE[0]:
        ops = body.get("success") or [body]
        desc = []
        for o in ops:
            r = o.get("request_range", o)
            key = r.get("key")
            if key:
                kb = base64.b64decode(key)
                desc.append((kb.split(b"/d/")[-1][:10], "range" if r.get("range_end") else "get", r.get("limit")))
        print("REQ", path, len(ops), collections.Counter(desc))
    return orig(self, i, path, body, *a, **k)
E._Members._post = post
