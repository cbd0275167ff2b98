#!/usr/bin/env python3
"""Writes the seed corpora of the fuzz targets (tests/fuzz/corpus/<target>/): a few small valid
files of each format, so the fuzzers start from inputs that reach deep into the readers.
Standard library only; the two JPEG seeds (8x8 gray, 16x16 RGB, baseline, made once by
stb_image_write from a synthetic pattern) are embedded below. The outputs are committed."""
import gzip
import io
import json
import os
import struct
import sys
import tarfile
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "corpus")
JPEGS = [bytes.fromhex(h) for h in (
    (
        "ffd8ffe000104a46494600010100000100010000ffdb008400080606070605080707070909080a0c140d0c0b"
        "0b0c1912130f141d1a1f1e1d1a1c1c20242e2720222c231c1c2837292c30313434341f27393d38323c2e3334"
        "32010909090c0b0c180d0d1832211c2132323232323232323232323232323232323232323232323232323232"
        "32323232323232323232323232323232323232323232ffc00011080008000803012200021101031101ffc401"
        "a20000010501010101010100000000000000000102030405060708090a0b1000020103030204030505040400"
        "00017d01020300041105122131410613516107227114328191a1082342b1c11552d1f02433627282090a1617"
        "18191a25262728292a3435363738393a434445464748494a535455565758595a636465666768696a73747576"
        "7778797a838485868788898a92939495969798999aa2a3a4a5a6a7a8a9aab2b3b4b5b6b7b8b9bac2c3c4c5c6"
        "c7c8c9cad2d3d4d5d6d7d8d9dae1e2e3e4e5e6e7e8e9eaf1f2f3f4f5f6f7f8f9fa0100030101010101010101"
        "010000000000000102030405060708090a0b1100020102040403040705040400010277000102031104052131"
        "061241510761711322328108144291a1b1c109233352f0156272d10a162434e125f11718191a262728292a35"
        "363738393a434445464748494a535455565758595a636465666768696a737475767778797a82838485868788"
        "898a92939495969798999aa2a3a4a5a6a7a8a9aab2b3b4b5b6b7b8b9bac2c3c4c5c6c7c8c9cad2d3d4d5d6d7"
        "d8d9dae2e3e4e5e6e7e8e9eaf2f3f4f5f6f7f8f9faffda000c03010002110311003f0086c6dadee343b9b4b0"
        "8bfb37c3f0e45d6a32643dcc5c0da1719556391b7967ca8c0c95399fd85f0f7fe829ff0092171ffc6eb722ff"
        "009245a9ff00dbb7fe8f8eb84a00ffd9"
    ),
    (
        "ffd8ffe000104a46494600010100000100010000ffdb008400080606070605080707070909080a0c140d0c0b"
        "0b0c1912130f141d1a1f1e1d1a1c1c20242e2720222c231c1c2837292c30313434341f27393d38323c2e3334"
        "32010909090c0b0c180d0d1832211c2132323232323232323232323232323232323232323232323232323232"
        "32323232323232323232323232323232323232323232ffc00011080010001003012200021101031101ffc401"
        "a20000010501010101010100000000000000000102030405060708090a0b1000020103030204030505040400"
        "00017d01020300041105122131410613516107227114328191a1082342b1c11552d1f02433627282090a1617"
        "18191a25262728292a3435363738393a434445464748494a535455565758595a636465666768696a73747576"
        "7778797a838485868788898a92939495969798999aa2a3a4a5a6a7a8a9aab2b3b4b5b6b7b8b9bac2c3c4c5c6"
        "c7c8c9cad2d3d4d5d6d7d8d9dae1e2e3e4e5e6e7e8e9eaf1f2f3f4f5f6f7f8f9fa0100030101010101010101"
        "010000000000000102030405060708090a0b1100020102040403040705040400010277000102031104052131"
        "061241510761711322328108144291a1b1c109233352f0156272d10a162434e125f11718191a262728292a35"
        "363738393a434445464748494a535455565758595a636465666768696a737475767778797a82838485868788"
        "898a92939495969798999aa2a3a4a5a6a7a8a9aab2b3b4b5b6b7b8b9bac2c3c4c5c6c7c8c9cad2d3d4d5d6d7"
        "d8d9dae2e3e4e5e6e7e8e9eaf2f3f4f5f6f7f8f9faffda000c03010002110311003f008a383c8b76b3b72922"
        "32ac4e981953b22b7e9c1eb24bcf4e0f5c53de5d86e353b2cbc7feb4a3ae78ccf70a3f258ba37e3d69867320"
        "9efec18c5360cde56eefb66b8181df05e1eabe9c74a905bc52cc2de19161b8f3040d1eec12a1e183af1d5629"
        "b81d81ce47343b4af7dfadff000bdb67d9ad3f20bf2e9d3efd3cfa4979f4fb91ffd9"
    ),
)]


def put(target, name, data):
    d = os.path.join(OUT, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def idx_images(n, rows, cols):
    return struct.pack(">IIII", 0x803, n, rows, cols) + bytes((i * 7) % 256 for i in range(n * rows * cols))


def idx_labels(labels):
    return struct.pack(">II", 0x801, len(labels)) + bytes(labels)


def png(w, h, channels):
    color = {1: 0, 3: 2, 4: 6}[channels]
    raw = b"".join(b"\0" + bytes((x * 31 + y * 17 + c * 70) % 256 for x in range(w) for c in range(channels))
                   for y in range(h))
    def chunk(kind, body):
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, color, 0, 0, 0)) +
            chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def bmp(w, h):
    row = (w * 3 + 3) // 4 * 4
    pixels = b"".join(bytes((x * 13 + y * 29 + c * 90) % 256 for x in range(w) for c in range(3)) +
                      b"\0" * (row - w * 3) for y in range(h))
    header = struct.pack("<2sIHHI", b"BM", 54 + len(pixels), 0, 0, 54)
    info = struct.pack("<IiiHHIIiiII", 40, w, h, 1, 24, 0, len(pixels), 2835, 2835, 0, 0)
    return header + info + pixels


def safetensors(tensors, metadata=None):
    header, data = {}, b""
    for name, (dtype, shape, body) in tensors.items():
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [len(data), len(data) + len(body)]}
        data += body
    if metadata:
        header["__metadata__"] = metadata
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    return struct.pack("<Q", len(text)) + text + data


def tar_gz(files):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as t:
        for name, data in files:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mtime = 0
            t.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def main():
    put("idx", "images-3x4x5", idx_images(3, 4, 5))
    put("idx", "images-3x4x5.gz", gzip.compress(idx_images(3, 4, 5), mtime=0))
    put("idx", "labels-4", idx_labels([1, 0, 3, 2]))
    record = bytes([3]) + bytes((i * 5) % 256 for i in range(3072))
    put("cifar", "cifar10-2", record + bytes([7]) + record[1:])
    put("cifar", "cifar100-1", bytes([4, 42]) + record[1:])
    put("safetensors", "f32-i64", safetensors(
        {"w": ("F32", [2, 2], struct.pack("<4f", 1.0, -2.0, 0.5, 3.0)),
         "steps": ("I64", [], struct.pack("<q", 7))}, {"format": "simclr-checkpoint-1", "epoch": "1"}))
    put("safetensors", "f16-bf16-u8", safetensors(
        {"h": ("F16", [2], struct.pack("<2H", 0x3C00, 0xC000)),
         "b": ("BF16", [1, 2], struct.pack("<2H", 0x3F80, 0x4040)),
         "u": ("U8", [3], bytes([1, 2, 255]))}))
    f32 = lambda *v: struct.pack(f"<{len(v)}f", *v)
    put("checkpoint", "tiny-sgd", safetensors(
        {"model.w": ("F32", [3, 2], f32(1, 2, 3, 4, 5, 6)), "model.b": ("F32", [3], f32(0.5, 0, -1)),
         "model.running": ("F32", [3], f32(1, 1, 2)), "model.batches": ("I64", [], struct.pack("<q", 4)),
         "optimizer.w.momentum_buffer": ("F32", [3, 2], f32(0, 0, 1, 0, 0, 1)),
         "optimizer.b.momentum_buffer": ("F32", [3], f32(0, 0, 0)),
         "optimizer.steps": ("I64", [], struct.pack("<q", 4))},
        {"format": "simclr-checkpoint-1", "epoch": "1", "step": "4", "seed": "11"}))
    put("image", "rgb-9x7.png", png(9, 7, 3))
    put("image", "gray-5x4.png", png(5, 4, 1))
    put("image", "rgba-3x3.png", png(3, 3, 4))
    put("image", "rgb-6x5.bmp", bmp(6, 5))
    jpegs = JPEGS
    put("image", "gray-8x8.jpg", jpegs[0])
    put("image", "rgb-16x16.jpg", jpegs[1])
    images = [png(8, 8, 3), png(8, 8, 3)] + jpegs
    put("archive", "train.tar.gz", tar_gz([(f"train/{c}/{i}.{'jpg' if k >= 2 else 'png'}", d)
                                            for k, (c, i, d) in enumerate(
                                                [("cat", 0, images[0]), ("dog", 0, images[1])] +
                                                [("cat", 1 + n, j) for n, j in enumerate(jpegs)])]))
    n = sum(len(files) for _, _, files in os.walk(OUT))
    print(f"make_corpus: {n} seed files under {OUT}")


if __name__ == "__main__":
    sys.exit(main())
