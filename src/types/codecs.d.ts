// The packages used for DICOM ship no type declarations: the little of them transferkit calls.
declare module 'dicom-parser';
declare module 'jpeg-lossless-decoder-js';
