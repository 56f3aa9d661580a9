// Fuzz cases (by id, from the CI set) that fail today in formats another branch is fixing (inputs26: DICOM,
// ONNX, Parquet/Arrow, CSV targets). Each entry says what goes wrong; empty this list as those fixes land
// (the suite prints a NOTICE for every entry that passes).
export const KNOWN_FAILING: Record<string, string> = {};
