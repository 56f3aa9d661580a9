"""GeoTIFF seeds for the fuzz suite, written by GDAL itself (libgdal through ctypes: Debian ships the library
without its Python bindings). Usage: gdal_tiles.py OUT_DIR. Prints the files written."""
import ctypes
import ctypes.util
import os
import random
import sys

lib = ctypes.CDLL(ctypes.util.find_library("gdal") or "libgdal.so.32")
lib.GDALGetDriverByName.restype = ctypes.c_void_p
lib.GDALCreate.restype = ctypes.c_void_p
lib.GDALCreate.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_void_p]
lib.GDALGetRasterBand.restype = ctypes.c_void_p
lib.GDALGetRasterBand.argtypes = [ctypes.c_void_p, ctypes.c_int]
lib.GDALRasterIO.argtypes = [ctypes.c_void_p, ctypes.c_int] + [ctypes.c_int] * 4 + [ctypes.c_void_p] + [ctypes.c_int] * 5
lib.GDALSetGeoTransform.argtypes = [ctypes.c_void_p, ctypes.POINTER(ctypes.c_double)]
lib.GDALClose.argtypes = [ctypes.c_void_p]
lib.GDALAllRegister()

GDT = {"uint16": (2, ctypes.c_uint16), "float32": (6, ctypes.c_float), "byte": (1, ctypes.c_uint8)}


def write(path, size, bands, dtype, options):
    code, ctype = GDT[dtype]
    opts = (ctypes.c_char_p * (len(options) + 1))(*[o.encode() for o in options], None)
    driver = lib.GDALGetDriverByName(b"GTiff")
    ds = lib.GDALCreate(driver, path.encode(), size, size, bands, code, opts)
    gt = (ctypes.c_double * 6)(500000.0, 10.0, 0.0, 4500000.0, 0.0, -10.0)
    lib.GDALSetGeoTransform(ds, gt)
    rnd = random.Random(size * 31 + bands)
    raw = bytearray()
    for b in range(1, bands + 1):
        # Smooth ramps with noise: compressible like imagery, enough codes for LZW to reset its table.
        buf = (ctype * (size * size))(*[((i % size) + (i // size) * 3 + rnd.randint(0, 9)) % 250 * (1 if dtype == "byte" else 40) for i in range(size * size)])
        lib.GDALRasterIO(lib.GDALGetRasterBand(ds, b), 1, 0, 0, size, size, buf, size, size, code, 0, 0)
        raw += bytes(buf)
    lib.GDALClose(ds)
    # The values written, band after band, for tests that compare what transferkit decodes.
    with open(path + ".raw", "wb") as f:
        f.write(raw)
    print(path)


out = sys.argv[1]
os.makedirs(out, exist_ok=True)
write(os.path.join(out, "s2-13band-deflate.tif"), 32, 13, "uint16", ["COMPRESS=DEFLATE", "INTERLEAVE=PIXEL"])
write(os.path.join(out, "rgb-byte-tiled.tif"), 64, 3, "byte", ["TILED=YES", "BLOCKXSIZE=32", "BLOCKYSIZE=32"])
write(os.path.join(out, "float-4band-lzw.tif"), 24, 4, "float32", ["COMPRESS=LZW", "INTERLEAVE=BAND"])
if len(sys.argv) > 2 and sys.argv[2] == "--large":
    write(os.path.join(out, "large-lzw.tif"), 300, 3, "uint16", ["COMPRESS=LZW", "PREDICTOR=2"])
    write(os.path.join(out, "large-deflate-tiled.tif"), 300, 2, "float32", ["COMPRESS=DEFLATE", "TILED=YES"])
