using System.Security.Cryptography;
using System.Text;
using Fs.Core.Meta;
using Fs.Core.Objects;
using Fs.Core.Vfs;

namespace Fs.Core.Tests.Objects;

public sealed class BlockCodecTests
{
    private const string ObjectKey = "chunks/0/0/42_0_4194304";
    private static readonly byte[] Key = RandomNumberGenerator.GetBytes(32);

    public static TheoryData<BlockCompression, bool, string> Combinations()
    {
        var data = new TheoryData<BlockCompression, bool, string>();
        foreach (var compression in Enum.GetValues<BlockCompression>())
        foreach (var encrypted in new[] { false, true })
        foreach (var content in new[] { "empty", "one", "random", "compressible" })
            data.Add(compression, encrypted, content);
        return data;
    }

    public static TheoryData<BlockCompression, bool> Codecs()
    {
        var data = new TheoryData<BlockCompression, bool>();
        foreach (var compression in Enum.GetValues<BlockCompression>())
        foreach (var encrypted in new[] { false, true })
            data.Add(compression, encrypted);
        return data;
    }

    private static BlockCodec Codec(BlockCompression compression, bool encrypted) => new(compression, encrypted ? Key : null);

    // Log-like text: what real files compress like.
    private static readonly byte[] Compressible =
        Encoding.ASCII.GetBytes(string.Concat(Enumerable.Range(0, 600_000).Select(i => $"line {i % 977}\n")))[..(4 << 20)];

    private static byte[] Content(string kind) => kind switch
    {
        "empty" => [],
        "one" => [7],
        "random" => RandomNumberGenerator.GetBytes(4 << 20),
        _ => (byte[])Compressible.Clone(),
    };

    [Theory]
    [InlineData(1)]
    [InlineData(100_000)]
    [InlineData(4 << 20)]
    public void A_block_encoded_in_place_is_byte_for_byte_the_object_the_usual_encoding_makes(int length)
    {
        var codec = Codec(BlockCompression.None, encrypted: false);
        var buffer = new BlockBuffer(length);
        RandomNumberGenerator.Fill(buffer.GetSpan());

        var inPlace = codec.EncodeInPlace(ObjectKey, buffer.Memory);

        // Same bytes as before the in-place path existed: volumes written either way read the same.
        Assert.Equal(codec.Encode(ObjectKey, buffer.GetSpan()), inPlace.ToArray());
        Assert.Equal(buffer.GetSpan().ToArray(), codec.Decode(ObjectKey, inPlace.ToArray()).ToArray());
    }

    [Theory]
    [MemberData(nameof(Codecs))]
    public void Encoding_in_place_leaves_a_block_that_is_compressed_encrypted_or_partial_to_the_usual_encoding(BlockCompression compression, bool encrypted)
    {
        var codec = Codec(compression, encrypted);
        var buffer = new BlockBuffer(100_000);
        Compressible.AsSpan(0, 100_000).CopyTo(buffer.GetSpan());

        // A part of a buffer has no room of its own in front of it: it is copied, never written around.
        var part = buffer.Memory[10..];
        var stored = codec.EncodeInPlace(ObjectKey, part).ToArray();

        Assert.Equal(Compressible.AsSpan(10, 100_000 - 10).ToArray(), codec.Decode(ObjectKey, stored).ToArray());
        Assert.Equal(Compressible.AsSpan(0, 100_000).ToArray(), buffer.GetSpan().ToArray());
    }

    [Theory]
    [MemberData(nameof(Combinations))]
    public void EveryCombinationRoundTrips(BlockCompression compression, bool encrypted, string kind)
    {
        var codec = Codec(compression, encrypted);
        var raw = Content(kind);
        var stored = codec.Encode(ObjectKey, raw);
        Assert.Equal(raw, codec.Decode(ObjectKey, stored).ToArray());

        var overhead = BlockCodec.HeaderBytes + BlockCodec.ChecksumBytes + (encrypted ? BlockCodec.NonceBytes + BlockCodec.TagBytes : 0);
        if (kind == "compressible" && compression != BlockCompression.None)
            Assert.True(stored.Length < raw.Length / 4, $"{compression} left {stored.Length} of {raw.Length} bytes");
        else
            Assert.Equal(raw.Length + overhead, stored.Length); // incompressible data is stored raw, not grown
    }

    [Fact]
    public void EncryptedBlocksDoNotContainThePlaintext()
    {
        var raw = Content("compressible");
        var stored = Codec(BlockCompression.None, encrypted: true).Encode(ObjectKey, raw);
        Assert.True(stored.AsSpan().IndexOf(raw.AsSpan(0, 64)) < 0);
    }

    [Theory]
    [MemberData(nameof(Codecs))]
    public void AnyFlippedByteIsDetected(BlockCompression compression, bool encrypted)
    {
        var codec = Codec(compression, encrypted);
        var stored = codec.Encode(ObjectKey, Content("compressible")[..100_000]);
        var positions = new[] { 0, 4, 5, 6, 8, 12, 16, 20, 24, 30, stored.Length / 2, stored.Length - 1 };
        foreach (var position in positions)
        {
            var damaged = (byte[])stored.Clone();
            damaged[position] ^= 0x01;
            Assert.Throws<CorruptObjectException>(() => codec.Decode(ObjectKey, damaged));
        }
    }

    [Theory]
    [MemberData(nameof(Codecs))]
    public void TruncatedOrExtendedObjectsAreDetected(BlockCompression compression, bool encrypted)
    {
        var codec = Codec(compression, encrypted);
        var stored = codec.Encode(ObjectKey, Content("random")[..50_000]);
        foreach (var length in new[] { 0, 10, 16, 24, stored.Length / 2, stored.Length - 1 })
            Assert.Throws<CorruptObjectException>(() => codec.Decode(ObjectKey, stored[..length]));
        Assert.Throws<CorruptObjectException>(() => codec.Decode(ObjectKey, (byte[])[.. stored, 0]));
    }

    [Theory]
    [MemberData(nameof(Codecs))]
    public void ABlockStoredUnderAnotherKeyIsDetected(BlockCompression compression, bool encrypted)
    {
        var codec = Codec(compression, encrypted);
        var stored = codec.Encode(ObjectKey, Content("compressible")[..100_000]);
        Assert.Throws<CorruptObjectException>(() => codec.Decode("chunks/0/0/43_0_4194304", stored));
    }

    [Theory]
    [InlineData(BlockCompression.None)]
    [InlineData(BlockCompression.Zstd)]
    public void TheWrongKeyIsDetected(BlockCompression compression)
    {
        var stored = Codec(compression, encrypted: true).Encode(ObjectKey, Content("random")[..1000]);
        var other = new BlockCodec(compression, RandomNumberGenerator.GetBytes(32));
        var error = Assert.Throws<CorruptObjectException>(() => other.Decode(ObjectKey, stored));
        Assert.Equal(ObjectKey, error.Key);
    }

    [Fact]
    public void EncryptionMustMatchTheVolume()
    {
        var plain = Codec(BlockCompression.None, encrypted: false).Encode(ObjectKey, [1, 2, 3]);
        var sealedBlock = Codec(BlockCompression.None, encrypted: true).Encode(ObjectKey, [1, 2, 3]);
        Assert.Throws<CorruptObjectException>(() => Codec(BlockCompression.None, encrypted: true).Decode(ObjectKey, plain));
        Assert.Throws<CorruptObjectException>(() => Codec(BlockCompression.None, encrypted: false).Decode(ObjectKey, sealedBlock));
    }

    [Fact]
    public void BlocksDecodeWhateverCompressionTheyWereWrittenWith()
    {
        var stored = Codec(BlockCompression.Lz4, encrypted: false).Encode(ObjectKey, Content("compressible"));
        Assert.Equal(Content("compressible"), Codec(BlockCompression.Zstd, encrypted: false).Decode(ObjectKey, stored).ToArray());
    }

    [Fact]
    public void KeysLoadFromRawHexAndBase64Files()
    {
        using var scratch = new ScratchDirectory();
        var key = RandomNumberGenerator.GetBytes(32);
        var raw = Path.Combine(scratch.Path, "raw");
        var hex = Path.Combine(scratch.Path, "hex");
        var base64 = Path.Combine(scratch.Path, "b64");
        File.WriteAllBytes(raw, key);
        File.WriteAllText(hex, Convert.ToHexString(key) + "\n");
        File.WriteAllText(base64, Convert.ToBase64String(key) + "\n");
        Assert.Equal(key, BlockCodec.LoadKey(raw));
        Assert.Equal(key, BlockCodec.LoadKey(hex));
        Assert.Equal(key, BlockCodec.LoadKey(base64));
    }

    [Fact]
    public void BadKeyFilesAreRefusedWithAClearMessage()
    {
        using var scratch = new ScratchDirectory();
        var shortKey = Path.Combine(scratch.Path, "short");
        File.WriteAllText(shortKey, Convert.ToBase64String(new byte[16]));
        Assert.Contains("32-byte", Assert.Throws<VolumeException>(() => BlockCodec.LoadKey(shortKey)).Message);
        Assert.Contains("missing", Assert.Throws<VolumeException>(() => BlockCodec.LoadKey(Path.Combine(scratch.Path, "missing"))).Message);
    }

    [Fact]
    public void KeyFingerprintIsHexSha256()
    {
        Assert.Equal("66687aadf862bd776c8fc18b8e9f8e20089714856ee233b3902a591d0d5f2925", BlockCodec.KeyFingerprint(new byte[32]));
    }

    [Fact]
    public void ForVolumeRefusesAMissingOrWrongKey()
    {
        var format = new VolumeFormat
        {
            Name = "v",
            Uuid = Guid.NewGuid(),
            HandleKey = "00",
            Compression = "lz4",
            Encrypted = true,
            KeyFingerprint = BlockCodec.KeyFingerprint(Key),
        };
        Assert.Throws<VolumeException>(() => BlockCodec.ForVolume(format, null));
        Assert.Contains("does not match", Assert.Throws<VolumeException>(() => BlockCodec.ForVolume(format, RandomNumberGenerator.GetBytes(32))).Message);
        var codec = BlockCodec.ForVolume(format, Key);
        Assert.True(codec.Encrypted);
        Assert.Equal(BlockCompression.Lz4, codec.Compression);
        Assert.Throws<VolumeException>(() => BlockCodec.ForVolume(format with { Compression = "brotli" }, Key));
    }
}
