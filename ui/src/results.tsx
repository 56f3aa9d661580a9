// A finished job's result: the strategies compared (a table and the parameters chart), or one model's evaluation.
import { useEffect, useRef } from 'preact/hooks';
import type { CompareResult, TrainResult } from './api.js';
import { paramsChart } from './charts.js';
import { pct } from './format.js';

export function Results({ result }: { result: TrainResult | CompareResult }) {
  return result.kind === 'compare' ? <Compared result={result} /> : <Trained result={result} />;
}

function Compared({ result }: { result: CompareResult }) {
  const chartRef = useRef<HTMLCanvasElement>(null);
  useEffect(() => {
    if (!chartRef.current) return;
    const chart = paramsChart(chartRef.current, result.rows);
    return () => chart.destroy();
  }, [result]);
  return (
    <section data-testid="results">
      <h2>Strategies compared</h2>
      <table>
        <tr>
          <th>Strategy</th>
          <th>Trainable</th>
          <th>Non-trainable</th>
          <th>Wall (s)</th>
          <th>s/epoch</th>
          <th>Best val acc</th>
        </tr>
        {result.rows.map((r) => (
          <tr>
            <td>{r.strategy}</td>
            <td>{r.trainableParams.toLocaleString()}</td>
            <td>{r.nonTrainableParams.toLocaleString()}</td>
            <td>{r.wallS.toFixed(1)}</td>
            <td>{r.secondsPerEpoch === null ? '—' : r.secondsPerEpoch.toFixed(2)}</td>
            <td>{r.bestValAccuracy === null ? '—' : pct(r.bestValAccuracy)}</td>
          </tr>
        ))}
      </table>
      <div class="chart-box">
        <canvas ref={chartRef} />
      </div>
    </section>
  );
}

function Trained({ result }: { result: TrainResult }) {
  const e = result.evaluation;
  return (
    <section data-testid="results">
      <h2>Results: {result.name}</h2>
      <p>validation accuracy {result.val.accuracy === null ? '—' : pct(result.val.accuracy)}</p>
      {e && (
        <>
          <p data-testid="metrics">
            balanced accuracy {pct(e.balancedAccuracy)}, macro F1 {e.macro.f1.toFixed(3)}
            {e.binary &&
              ` · ROC AUC ${e.binary.rocAuc.toFixed(3)}, PR AUC ${e.binary.prAuc.toFixed(3)}, at threshold ${e.binary.threshold.toFixed(2)}: sensitivity ${pct(e.binary.sensitivity)}, specificity ${pct(e.binary.specificity)}`}
          </p>
          <table data-testid="confusion">
            <tr>
              <th>true \ predicted</th>
              {result.classNames.map((c) => (
                <th>{c}</th>
              ))}
            </tr>
            {e.confusionMatrix.map((row, i) => (
              <tr>
                <td>{result.classNames[i]}</td>
                {row.map((n, j) => (
                  <td style={`background:${i === j ? '#d8e6f3' : n ? '#fbe2c6' : 'white'}`}>{n}</td>
                ))}
              </tr>
            ))}
          </table>
          <table>
            <tr>
              <th>Class</th>
              <th>Precision</th>
              <th>Recall</th>
              <th>F1</th>
              <th>Support</th>
            </tr>
            {e.perClass.map((c) => (
              <tr>
                <td>{c.className}</td>
                <td>{c.precision.toFixed(3)}</td>
                <td>{c.recall.toFixed(3)}</td>
                <td>{c.f1.toFixed(3)}</td>
                <td>{c.support}</td>
              </tr>
            ))}
          </table>
        </>
      )}
    </section>
  );
}
