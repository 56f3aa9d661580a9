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
    for b in range(1, bands + 1):
        buf = (ctype * (size * size))(*[rnd.randint(0, 250) * (1 if dtype == "byte" else 40) for _ in range(size * size)])
        lib.GDALRasterIO(lib.GDALGetRasterBand(ds, b), 1, 0, 0, size, size, buf, size, size, code, 0, 0)
    lib.GDALClose(ds)
    print(path)


out = sys.argv[1]
os.makedirs(out, exist_ok=True)
write(os.path.join(out, "s2-13band-deflate.tif"), 32, 13, "uint16", ["COMPRESS=DEFLATE", "INTERLEAVE=PIXEL"])
write(os.path.join(out, "rgb-byte-tiled.tif"), 64, 3, "byte", ["TILED=YES", "BLOCKXSIZE=32", "BLOCKYSIZE=32"])
write(os.path.join(out, "float-4band-lzw.tif"), 24, 4, "float32", ["COMPRESS=LZW", "INTERLEAVE=BAND"])
