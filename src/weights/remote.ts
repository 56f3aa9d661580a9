import type { RemoteFile } from '../util/remote-file.js';

/** Where Keras publishes its applications' weights. */
export const KERAS_APPLICATIONS_URL = 'https://storage.googleapis.com/tensorflow/keras-applications';

/** A pretrained weights file of one model variant. */
export interface WeightsEntry extends RemoteFile {
  /** Application id, e.g. 'vgg16'. */
  model: string;
  includeTop: boolean;
  /** Parameters in the file, where known: a check that an imported file is complete. */
  params?: number;
  /** The options that select this file among the family's, e.g. {alpha: 0.25, size: 224}. */
  variant?: Record<string, number>;
}

/**
 * The pair of files Keras publishes for most families: `<stem>.h5` with the classifier and `<stem>_notop.h5`
 * without, under `keras-applications/<folder>/`, each with its md5 and parameter count.
 */
export function kerasTopAndNotop(model: string, folder: string, stem: string, md5: [string, string], params: [number, number]): WeightsEntry[] {
  return [true, false].map((includeTop, i) => {
    const file = `${stem}${includeTop ? '' : '_notop'}.h5`;
    return { model, includeTop, file, url: `${KERAS_APPLICATIONS_URL}/${folder}/${file}`, md5: md5[i], params: params[i] };
  });
}
