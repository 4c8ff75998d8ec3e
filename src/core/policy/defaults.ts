/** Defaults shared by the policies (no heavy imports here). */

/** Default hub id of the `onnx` policy: a small instruct code model with ONNX weights for transformers.js. */
export const DEFAULT_ONNX_MODEL = 'onnx-community/Qwen2.5-Coder-0.5B-Instruct';

/** Sampling defaults: the paper samples and evaluates at temperature 1.0, top-p 0.95. */
export const DEFAULT_TEMPERATURE = 1.0;
export const DEFAULT_TOP_P = 0.95;
