// What names a Keras model file's parts (shared by the reader, and by the writer that also runs in a browser).

export type KerasFileFormat = 'keras' | 'keras-h5';

/** transferkit's metadata beside the model, where Keras does not look. */
export const METADATA_ENTRY = 'transferkit.json';
