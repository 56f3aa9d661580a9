import type { CommandEntry } from '../command.js';

// Every command, in the order `transferkit --help` lists them. A command's module is imported only when it runs,
// so `--help` and light commands never load tfjs, ONNX Runtime, sharp or the UI.
export const COMMANDS: CommandEntry[] = [
  {
    name: 'train',
    summary: 'Train an image classifier on a folder of class folders (or a regressor on a file,target CSV): feature extraction, fine-tuning or full training.',
    load: async () => (await import('./train.js')).trainCommand,
  },
  {
    name: 'add-class',
    summary: 'Add a class to a k-NN or prototype model from a folder of its images, without retraining.',
    load: async () => (await import('./add-class.js')).addClassCommand,
  },
  {
    name: 'predict',
    summary: 'Classify images with a saved model: the top-k labels with their probabilities.',
    load: async () => (await import('./predict.js')).predictCommand,
  },
  {
    name: 'evaluate',
    summary: 'Evaluate a saved model on labelled images: loss, accuracy, confusion matrix, per-class metrics (MAE/RMSE for a regressor).',
    load: async () => (await import('./predict.js')).evaluateCommand,
  },
  {
    name: 'calibrate',
    summary: 'Temperature scaling: fit T on the validation split so the probabilities match the accuracy (ECE before/after, reliability diagram).',
    load: async () => (await import('./calibrate.js')).calibrateCommand,
  },
  {
    name: 'inspect',
    summary: "Every image's loss, given and predicted class, highest first; the most confused pairs; a contact sheet with Grad-CAM (CSV/JSON/HTML).",
    load: async () => (await import('./inspect.js')).inspectCommand,
  },
  {
    name: 'duplicates',
    summary: 'Find exact and near-duplicate images within and across folders, and leaks between training and validation/test.',
    load: async () => (await import('./duplicates.js')).duplicatesCommand,
  },
  {
    name: 'label-issues',
    summary: 'Find images whose label is unlikely (confident learning on cross-validated probes), with a suggested label and a review list.',
    load: async () => (await import('./label-issues.js')).labelIssuesCommand,
  },
  {
    name: 'lr-find',
    summary: "Learning-rate range test (fastai's lr_find): sweep the rate, plot the loss, suggest a rate.",
    load: async () => (await import('./lr-find.js')).lrFindCommand,
  },
  {
    name: 'compare',
    summary: 'Train full, feature-extraction and fine-tune on the same split and compare parameters, time and accuracy.',
    load: async () => (await import('./compare.js')).compareCommand,
  },
  {
    name: 'summary',
    summary: "Print a model's layers and parameter counts as Keras's model.summary() does.",
    load: async () => (await import('./summary.js')).summaryCommand,
  },
  {
    name: 'layers',
    summary: "List a model's blocks and their first layers: the names to fine-tune from (--unfreeze-from).",
    load: async () => (await import('./layers.js')).layersCommand,
  },
  {
    name: 'compare-params',
    summary: 'Compare total, trainable and non-trainable parameters of full training, feature extraction and fine-tuning.',
    load: async () => (await import('./compare-params.js')).compareParamsCommand,
  },
  {
    name: 'weights',
    summary: "Manage Keras's pretrained weight files: list, download, import for offline use, verify the cache.",
    load: async () => (await import('./weights.js')).weightsCommand,
  },
  {
    name: 'datasets',
    summary: 'Public datasets (EuroSAT): list them, download one with a hash check, or install a copy fetched elsewhere.',
    load: async () => (await import('./datasets.js')).datasetsCommand,
  },
  {
    name: 'extract',
    summary: 'Compute pretrained features for the images of a folder of class folders (or one shard of them): .npy, Parquet or Arrow.',
    load: async () => (await import('./extract.js')).extractCommand,
  },
  {
    name: 'features',
    summary: "Merge the shards of 'extract --shard K/N' into one Parquet/Arrow/npy table, checking base and completeness.",
    load: async () => (await import('./features.js')).featuresCommand,
  },
  {
    name: 'export',
    summary: 'Export a saved model: a standalone ONNX inference graph, or a tfjs model for the browser.',
    load: async () => (await import('./export.js')).exportCommand,
  },
  {
    name: 'map',
    summary: 'Classify a large GeoTIFF scene tile by tile: a colour-coded class map with a legend, and GeoJSON tiles (--shard K/N, then map merge).',
    load: async () => (await import('./map.js')).mapCommand,
  },
  {
    name: 'show',
    summary: 'Write what the model sees of each image (decoded, windowed, resized) as PNG, and the raw values as .npy.',
    load: async () => (await import('./show.js')).showCommand,
  },
  {
    name: 'explain',
    summary: 'Grad-CAM: a heatmap of where a saved model looked, overlaid on each image (PNG), and the raw map (.npy).',
    load: async () => (await import('./explain.js')).explainCommand,
  },
  {
    name: 'ui',
    summary: 'A local web page to pick a dataset, train, watch the curves, compare strategies and try the model.',
    load: async () => (await import('./ui.js')).uiCommand,
  },
];
