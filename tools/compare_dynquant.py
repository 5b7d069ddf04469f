#!/usr/bin/env python3
"""Dynamic quantized linear vs ONNX Runtime's f32_dynquant, interleaved in one window (2 rounds, best of each), one
thread, on the M >= 16 transformer shapes of ../shared/peers. Needs ../shared/peers/run to have built its venv
(/tmp/peers-build) and a release qforge (swift build -c release). Run from the repository root."""
import subprocess, json, os, collections
S="16x384x384,16x384x1536,16x1536x384,16x768x768,16x768x3072,16x3072x768,128x384x384,128x384x1536,128x1536x384,128x768x768,128x768x3072,128x3072x768"
ort=collections.defaultdict(float); qf=collections.defaultdict(float); f32=collections.defaultdict(float)
for rnd in range(2):
    out=subprocess.run(["taskset","-c","0","/tmp/peers-build/venv/bin/python","bench.py","ort","1"],cwd=os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "shared", "peers"),
        env={**os.environ,"BENCH_SHAPES":S,"OMP_NUM_THREADS":"1"},capture_output=True,text=True).stdout
    for l in out.splitlines():
        if not l.startswith("{"): continue
        r=json.loads(l); k=(r["m"],r["k"],r["n"])
        if r["op"]=="f32_dynquant": ort[k]=max(ort[k],r["gmacs"])
        if r["op"]=="f32": f32[k]=max(f32[k],r["gmacs"])
    out=subprocess.run(["taskset","-c","0",os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".build", "release", "qforge"),"bench","--op","f32_dynquant","--shapes",S,"--json"],capture_output=True,text=True).stdout
    for l in out.splitlines():
        if not l.startswith("{"): continue
        r=json.loads(l); k=(r["m"],r["k"],r["n"]); qf[k]=max(qf[k],r["gmacs"])
print("shape            qforge f32_dynquant  ORT f32_dynquant  ratio   ORT f32  qforge/ORT-f32")
for k in sorted(qf):
    print("%4dx%5dx%5d   %10.1f        %10.1f      %5.2fx  %7.1f   %5.2fx"%(k[0],k[1],k[2],qf[k],ort[k],qf[k]/ort[k],f32[k],qf[k]/f32[k]))
