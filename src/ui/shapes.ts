// What the Data tab's routes answer, with no Node import: the page (ui/src) takes these types from here.

export interface ScanProgress {
  /** 1-based step of `steps`, its name, and its images done of total when it counts them. */
  step: number;
  steps: number;
  name: string;
  done: number;
  total: number;
}

export interface DataScanResult {
  model: string;
  data: string;
  classNames: string[];
  topLosses: Array<{ file: string; given: string; predicted: string; probability: number; loss: number }>;
  issues: Array<{ file: string; given: string; suggested: string; selfConfidence: number }>;
  duplicates: Array<{ kind: string; similarity: number; leak: boolean; members: Array<{ file: string; place: string; className: string }> }>;
  threshold: number;
  images: number;
  seconds: number;
}

/** The answer to a recorded decision: the list (relative to the root), its row count, and the row written. */
export interface Decision {
  list: string;
  rows: number;
  row: { file: string; given: string; suggested: string; action: string };
}

/** The review list as the page shows it: every decision recorded so far (files relative to the root). */
export interface ReviewList {
  list: string;
  rows: Array<Decision['row']>;
}
