/**
 * Types for `@echogarden/fvad-wasm` (libfvad, WebRTC's VAD, compiled with Emscripten), which
 * ships none: the default export instantiates the module; the functions are libfvad's C API.
 */
declare module '@echogarden/fvad-wasm' {
  export interface FvadModule {
    _fvad_new(): number
    _fvad_free(handle: number): void
    /** 0–3, higher is more aggressive about calling frames non-speech; returns 0 on success. */
    _fvad_set_mode(handle: number, mode: number): number
    /** 8000, 16000, 32000 or 48000; returns 0 on success. */
    _fvad_set_sample_rate(handle: number, rate: number): number
    /** One 10, 20 or 30 ms frame of 16-bit samples at `frame`; 1 speech, 0 not, −1 error. */
    _fvad_process(handle: number, frame: number, length: number): number
    _malloc(bytes: number): number
    _free(pointer: number): void
    HEAP16: Int16Array
  }
  export default function fvad(): Promise<FvadModule>
}
