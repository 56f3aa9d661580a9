"""pydicom's decoding of its own test files, the reference for transferkit's DICOM reader.

usage: pydicom_reference.py OUT_DIR
Walks pydicom's data folder (test_files, charset_files, palettes) and writes OUT_DIR/manifest.json: one entry per
file, either decoded (values written to OUT_DIR/<n>.f64: every frame, float64, frames x rows x columns x samples,
after the Modality LUT for grayscale and YBR_FULL(_422) converted to RGB in float, the stage `show --raw` exposes)
or a skip with pydicom's reason (no pixel data, not an image, or pydicom cannot decode it with the handlers it
has here). Each entry names the handler that decoded it and whether the transfer syntax is lossy.
Also writes and decodes generated/seg-5x7x3.dcm: a 3-frame 1-bit segmentation packed by pydicom, whose second
and third frames start inside a byte (35 bits per frame).
"""
import json
import os
import sys
import warnings

import numpy as np
import pydicom
import pydicom.data
from pydicom import config
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.pixel_data_handlers.numpy_handler import pack_bits
from pydicom.pixel_data_handlers.util import apply_modality_lut
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

LOSSY = {"1.2.840.10008.1.2.4.50", "1.2.840.10008.1.2.4.51", "1.2.840.10008.1.2.4.81", "1.2.840.10008.1.2.4.91"}
NOT_DICOM = (".py", ".pyc", ".json", ".txt", ".md", ".dump", ".gz")
# YCbCr (full range) to RGB, PS3.3 C.7.6.3.1.2, kept in float (pydicom's convert_color_space rounds to integers).
YBR_TO_RGB = np.array([[1.0, 0.0, 1.402], [1.0, -0.114 * 1.772 / 0.587, -0.299 * 1.402 / 0.587], [1.0, 1.772, 0.0]])


def handler_name(ds):
    for h in config.pixel_data_handlers:
        if h.is_available() and h.supports_transfer_syntax(ds.file_meta.TransferSyntaxUID):
            return h.__name__.rsplit(".", 1)[-1]
    return None


def reference(ds):
    arr = ds.pixel_array.astype(np.float64)
    frames = int(ds.get("NumberOfFrames", 1) or 1)
    samples = int(ds.SamplesPerPixel)
    arr = arr.reshape(frames, int(ds.Rows), int(ds.Columns), samples)
    photometric = str(ds.PhotometricInterpretation).upper()
    if samples == 1:
        arr = apply_modality_lut(arr, ds).astype(np.float64)
    elif photometric.startswith("YBR_FULL"):
        ybr = arr - np.array([0.0, 128.0, 128.0])
        arr = ybr @ YBR_TO_RGB.T
    return arr, frames


def write_segmentation(path):
    """A 3-frame 5x7 1-bit image, bits packed across frame bounds by pydicom."""
    meta = FileMetaDataset()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.66.4"
    meta.MediaStorageSOPInstanceUID = generate_uid()
    ds = Dataset()
    ds.file_meta = meta
    ds.is_little_endian, ds.is_implicit_VR = True, False
    ds.SOPClassUID, ds.SOPInstanceUID = meta.MediaStorageSOPClassUID, meta.MediaStorageSOPInstanceUID
    ds.Rows, ds.Columns, ds.NumberOfFrames, ds.SamplesPerPixel = 5, 7, 3, 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 1, 1, 0, 0
    bits = (np.random.default_rng(7).random((3, 5, 7)) > 0.5).astype(np.uint8)
    ds.PixelData = pack_bits(bits)
    ds.save_as(path, write_like_original=False)


def main():
    out = sys.argv[1]
    root = os.path.dirname(pydicom.data.__file__)
    os.makedirs(os.path.join(out, "generated"), exist_ok=True)
    write_segmentation(os.path.join(out, "generated", "seg-5x7x3.dcm"))
    entries = []
    walked = [(os.path.join(out, "generated"), ["seg-5x7x3.dcm"], out)] + [(f, sorted(n), root) for f, _, n in sorted(os.walk(root))]
    for folder, files, base in walked:
        for name in files:
            if name.endswith(NOT_DICOM) or name.startswith("README") or "__pycache__" in folder:
                continue
            path = os.path.join(folder, name)
            entry = {"file": os.path.relpath(path, base), "path": path}
            entries.append(entry)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                try:
                    ds = pydicom.dcmread(path, force=True)
                except Exception as e:  # noqa: BLE001 -- any failure is a skip with pydicom's reason
                    entry.update(status="skip", reason=f"pydicom cannot read it: {type(e).__name__}: {e}")
                    continue
                if "PixelData" not in ds:
                    entry.update(status="skip", reason="no pixel data")
                    continue
                try:
                    arr, frames = reference(ds)
                except Exception as e:  # noqa: BLE001
                    entry.update(status="skip", reason=f"pydicom cannot decode it: {type(e).__name__}: {str(e)[:160]}")
                    continue
            syntax = str(ds.file_meta.get("TransferSyntaxUID", ""))
            values = os.path.join(out, f"{len(entries)}.f64")
            arr.astype("<f8").tofile(values)
            entry.update(
                status="decoded",
                values=values,
                frames=frames,
                shape=list(arr.shape[1:]),
                syntax=syntax,
                photometric=str(ds.PhotometricInterpretation),
                bitsAllocated=int(ds.BitsAllocated),
                handler=handler_name(ds),
                lossy=syntax in LOSSY,
            )
    with open(os.path.join(out, "manifest.json"), "w") as f:
        json.dump({"pydicom": pydicom.__version__, "root": root, "files": entries}, f, indent=1)


if __name__ == "__main__":
    main()
