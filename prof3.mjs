const T=performance.now(); const t=()=>(performance.now()-T).toFixed(0);
const { applications } = await import('./dist/src/index.js');
const { compileInference } = await import('./dist/src/engine/onnx/compile.js');
const { loadOrt, sessionOptions } = await import('./dist/src/engine/ort-runtime.js');
const m = await applications.vgg16({weights:null, includeTop:false, inputShape:[32,32,3], pooling:'avg'});
console.log('build', t());
const g = compileInference(m, {}); console.log('compile', t(), g.onnx.length);
const ort = await loadOrt(); console.log('ort load', t());
for (const bs of [32, 64, 128]) {
const s = await ort.InferenceSession.create(g.onnx, sessionOptions()); console.log('session', t());
const x = new Float32Array(bs*32*32*3).map(()=>Math.random()*100);
const times=[];
for (let i=0;i<Math.ceil(2000/bs)+2;i++){ const a=performance.now(); await s.run({[g.inputName]: new ort.Tensor('float32', x, [bs,32,32,3])}); times.push(performance.now()-a); }
console.log(bs, 'first3', times.slice(0,3).map(v=>v.toFixed(0)).join(' '), 'median', times.sort((a,b)=>a-b)[times.length>>1].toFixed(1), 'per img', (times[times.length>>1]/bs).toFixed(2));
}
