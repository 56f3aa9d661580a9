// "Try it" on the Train tab: an image dropped or chosen is classified in the browser and explained by the server.
import { useRef, useState } from 'preact/hooks';
import { type ExplainAnswer, type SavedModel, api } from './api.js';
import { pct } from './format.js';
import { classify } from './tryit.js';

const predictionsText = (predictions: Array<{ label: string; probability: number }>) => predictions.map((p) => `${p.label} ${pct(p.probability)}`).join(', ');

/** The tried file's picture, the browser's answer and the server's Grad-CAM; only the latest try may set them. */
function useTry(model: SavedModel | undefined) {
  const [answer, setAnswer] = useState('');
  const [picture, setPicture] = useState('');
  const [cam, setCam] = useState<ExplainAnswer | null>(null);
  const [camNote, setCamNote] = useState('');
  const tries = useRef(0);
  // The browser classifies what it can show (photos) with tfjs; the server reads every format the CLI does (DICOM
  // with the model's window, GeoTIFF bands), answers too, and draws the Grad-CAM of the class it decided.
  const tryFile = (file: File) => {
    if (!model) return;
    const n = ++tries.current;
    const current = () => n === tries.current;
    setCam(null);
    setCamNote('explaining on the server…');
    setAnswer('classifying in the browser…');
    if (picture) URL.revokeObjectURL(picture);
    const url = URL.createObjectURL(file);
    setPicture(url);
    const img = new Image();
    img.onload = async () => {
      try {
        const r = await classify(model, img);
        if (current()) setAnswer(`${predictionsText(r.predictions)} (tfjs ${r.backend})`);
      } catch (e) {
        if (current()) setAnswer(`error: ${(e as Error).message}`);
      }
    };
    img.onerror = () => {
      if (!current()) return;
      setPicture('');
      setAnswer('the browser cannot show this file (DICOM, GeoTIFF…): the answer is the server’s, beside the heatmap');
    };
    img.src = url;
    api<ExplainAnswer>(`/api/explain?model=${encodeURIComponent(model.path)}&name=${encodeURIComponent(file.name)}`, {
      method: 'POST',
      headers: { 'content-type': 'application/octet-stream' },
      body: file,
    }).then(
      (r) => {
        if (!current()) return;
        setCam(r);
        setCamNote('');
      },
      (e: Error) => current() && setCamNote(`no heatmap: ${e.message}`),
    );
  };
  return { answer, picture, cam, camNote, tryFile };
}

export function TryIt({ model }: { model: SavedModel | undefined }) {
  const { answer, picture, cam, camNote, tryFile } = useTry(model);
  return (
    <>
      <h2>Try it</h2>
      <section
        class="drop"
        aria-label="Try it: drop an image"
        onDragOver={(e) => e.preventDefault()}
        onDrop={(e) => {
          e.preventDefault();
          const f = e.dataTransfer?.files[0];
          if (f) tryFile(f);
        }}
      >
        <label htmlFor="try-file" style="display:inline">
          drop an image here, or choose one:
        </label>{' '}
        <input
          id="try-file"
          data-testid="try-file"
          type="file"
          accept="image/*,.dcm,.dicom,.tif,.tiff"
          style="width:auto"
          onChange={(e) => (e.target as HTMLInputElement).files?.[0] && tryFile((e.target as HTMLInputElement).files![0])}
        />
        <div class="tryit">
          {picture && (
            <figure>
              <img src={picture} alt="what was tried" />
              <figcaption>the image</figcaption>
            </figure>
          )}
          {cam && (
            <figure data-testid="gradcam">
              <img data-testid="overlay" src={cam.overlay} width={cam.width} height={cam.height} alt={`Grad-CAM heatmap for ${cam.label}`} />
              <figcaption data-testid="gradcam-class">
                Grad-CAM for <b>{cam.label}</b> ({cam.layer})
                <br />
                server: {predictionsText(cam.predictions)}
              </figcaption>
            </figure>
          )}
        </div>
        <p data-testid="answer">{answer}</p>
        {camNote && <p data-testid="gradcam-note">{camNote}</p>}
      </section>
    </>
  );
}
