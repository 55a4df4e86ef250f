using System.Buffers;
using System.Buffers.Binary;
using System.IO.Hashing;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;
using Fs.Core.Meta;
using Fs.Core.Vfs;
using K4os.Compression.LZ4;
using ZstdSharp;

namespace Fs.Core.Objects;

/// <summary>
/// Turns a raw block into the bytes stored as its object and back: a header, an XxHash3 checksum of the raw data
/// seeded by the object key (so an object stored under the wrong name fails even on unencrypted volumes),
/// the payload (compressed when that helps) and, on encrypted volumes, AES-256-GCM bound to the object key.
/// </summary>
/// <remarks>
/// Layout, little-endian:
/// <c>magic "ABLK" | version u8 | compression u8 | flags u8 | 0 u8 | raw length u32 | payload length u32</c>
/// (16 bytes), then on encrypted blocks a 12-byte nonce, then the body <c>checksum u64 | payload</c> (encrypted as one
/// piece on encrypted blocks, so the checksum does not leak a fingerprint of the plaintext), then on encrypted blocks
/// the 16-byte tag. The header and the object key are the associated data: a block copied under another key, or a
/// header edited to claim another compression, fails authentication.
/// </remarks>
public sealed class BlockCodec
{
    public const int KeyBytes = 32;
    internal const int HeaderBytes = 16;
    internal const int ChecksumBytes = 8;
    internal const int NonceBytes = 12;
    internal const int TagBytes = 16;
    /// <summary>What a plain (unencrypted, uncompressed) block's object holds in front of the data: header and checksum.</summary>
    internal const int PlainPrefixBytes = HeaderBytes + ChecksumBytes;
    internal const byte Version = 1;
    internal const byte EncryptedFlag = 1;
    private const uint Magic = 0x4B4C4241; // "ABLK" read as little-endian u32
    private const int ZstdLevel = 1; // the managed zstd port is CPU-bound; level 1 keeps uploads near disk speed

    // A block never exceeds a chunk; the cap stops a damaged header from asking for a huge allocation.
    private const int MaxRawBytes = VolumeFormat.ChunkSize;

    [ThreadStatic] private static Compressor? t_zstdCompressor;
    [ThreadStatic] private static Decompressor? t_zstdDecompressor;

    private readonly byte[]? _key;

    /// <param name="compression">Compression for new blocks; blocks are decoded by what their own header says.</param>
    /// <param name="key">The volume's 32-byte AES-256 key, or null for an unencrypted volume.</param>
    public BlockCodec(BlockCompression compression, byte[]? key = null)
    {
        if (key is not null && key.Length != KeyBytes)
            throw new ArgumentException($"an encryption key is {KeyBytes} bytes, got {key.Length}", nameof(key));
        Compression = compression;
        _key = key is null ? null : (byte[])key.Clone();
    }

    public BlockCompression Compression { get; }

    public bool Encrypted => _key is not null;

    /// <summary>The codec a formatted volume needs, refusing a missing, unexpected or wrong key before any block is read.</summary>
    public static BlockCodec ForVolume(VolumeFormat format, byte[]? key)
    {
        var compression = BlockCompressions.Parse(format.Compression);
        if (!format.Encrypted)
        {
            if (key is not null)
                throw new VolumeException($"volume '{format.Name}' is not encrypted, but an encryption key was given");
            return new BlockCodec(compression);
        }
        if (key is null)
            throw new VolumeException($"volume '{format.Name}' is encrypted: give its key file");
        if (key.Length != KeyBytes)
            throw new VolumeException($"an encryption key is {KeyBytes} bytes, got {key.Length}");
        var fingerprint = KeyFingerprint(key);
        if (format.KeyFingerprint is not null && !string.Equals(fingerprint, format.KeyFingerprint, StringComparison.OrdinalIgnoreCase))
            throw new VolumeException($"the key file does not match volume '{format.Name}' (key fingerprint {fingerprint}, volume expects {format.KeyFingerprint})");
        return new BlockCodec(compression, key);
    }

    /// <summary>Hex SHA-256 of a key, recorded in the volume format so a wrong key is refused at open.</summary>
    public static string KeyFingerprint(byte[] key) => Convert.ToHexStringLower(SHA256.HashData(key));

    /// <summary>Reads a 32-byte key stored raw, as 64 hex digits, or as base64.</summary>
    public static byte[] LoadKey(string keyFile)
    {
        byte[] content;
        try
        {
            content = File.ReadAllBytes(keyFile);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new VolumeException($"cannot read key file '{keyFile}': {e.Message}", e);
        }
        if (content.Length == KeyBytes)
            return content;

        var text = Encoding.ASCII.GetString(content).Trim();
        if (text.Length == 2 * KeyBytes && text.All(char.IsAsciiHexDigit))
            return Convert.FromHexString(text);
        var decoded = new byte[KeyBytes + 3];
        if (Convert.TryFromBase64String(text, decoded, out var written) && written == KeyBytes)
            return decoded[..KeyBytes];
        throw new VolumeException(
            $"key file '{keyFile}' holds no 32-byte key: expected 32 raw bytes, 64 hex digits or base64 of 32 bytes");
    }

    /// <summary>
    /// Encodes one block for storage under <paramref name="objectKey"/>. A block held whole in a <see cref="BlockBuffer"/>
    /// that stays plain is encoded in place: its header goes into the room in front of the data and the object is that
    /// same memory, so the data is not copied.
    /// </summary>
    internal ReadOnlyMemory<byte> EncodeInPlace(string objectKey, ReadOnlyMemory<byte> raw)
    {
        if (_key is not null || Compression != BlockCompression.None
            || !MemoryMarshal.TryGetMemoryManager(raw, out BlockBuffer? buffer, out var start, out _) || start != 0)
            return Encode(objectKey, raw.Span);
        if (raw.Length > MaxRawBytes)
            throw new ArgumentException($"a block holds at most {MaxRawBytes} bytes, got {raw.Length}", nameof(raw));
        var prefix = buffer.Prefix;
        WriteHeader(prefix, BlockCompression.None, 0, raw.Length, raw.Length);
        BinaryPrimitives.WriteUInt64LittleEndian(prefix[HeaderBytes..], Checksum(objectKey, raw.Span));
        return buffer.Object(raw.Length);
    }

    /// <summary>Encodes one block for storage under <paramref name="objectKey"/>.</summary>
    public byte[] Encode(string objectKey, ReadOnlySpan<byte> raw)
    {
        if (raw.Length > MaxRawBytes)
            throw new ArgumentException($"a block holds at most {MaxRawBytes} bytes, got {raw.Length}", nameof(raw));
        var checksum = Checksum(objectKey, raw);

        // The body (checksum + payload) is built in a rented buffer only when it cannot be written in place:
        // compressed blocks and encrypted blocks. A plain block is copied once, straight into the result.
        byte[]? rented = null;
        try
        {
            ReadOnlySpan<byte> payload = raw;
            var compression = BlockCompression.None;
            if (Compression != BlockCompression.None && raw.Length > 0)
            {
                rented = ArrayPool<byte>.Shared.Rent(ChecksumBytes + MaxCompressedBytes(Compression, raw.Length));
                var compressedLength = Compress(Compression, raw, rented.AsSpan(ChecksumBytes));
                if (compressedLength > 0 && compressedLength < raw.Length)
                {
                    payload = rented.AsSpan(ChecksumBytes, compressedLength);
                    compression = Compression;
                }
            }

            var bodyLength = ChecksumBytes + payload.Length;
            if (_key is null)
            {
                var plain = new byte[HeaderBytes + bodyLength];
                WriteHeader(plain, compression, 0, raw.Length, payload.Length);
                BinaryPrimitives.WriteUInt64LittleEndian(plain.AsSpan(HeaderBytes), checksum);
                payload.CopyTo(plain.AsSpan(HeaderBytes + ChecksumBytes));
                return plain;
            }

            if (compression == BlockCompression.None)
            {
                if (rented is null || rented.Length < bodyLength)
                {
                    if (rented is not null)
                        ArrayPool<byte>.Shared.Return(rented);
                    rented = ArrayPool<byte>.Shared.Rent(bodyLength);
                }
                raw.CopyTo(rented.AsSpan(ChecksumBytes));
            }
            BinaryPrimitives.WriteUInt64LittleEndian(rented, checksum);

            var sealedBlock = new byte[HeaderBytes + NonceBytes + bodyLength + TagBytes];
            WriteHeader(sealedBlock, compression, EncryptedFlag, raw.Length, payload.Length);
            var nonce = sealedBlock.AsSpan(HeaderBytes, NonceBytes);
            RandomNumberGenerator.Fill(nonce);
            var associated = AssociatedData(sealedBlock.AsSpan(0, HeaderBytes), objectKey);
            using var aes = new AesGcm(_key, TagBytes);
            aes.Encrypt(
                nonce,
                rented.AsSpan(0, bodyLength),
                sealedBlock.AsSpan(HeaderBytes + NonceBytes, bodyLength),
                sealedBlock.AsSpan(HeaderBytes + NonceBytes + bodyLength, TagBytes),
                associated);
            return sealedBlock;
        }
        finally
        {
            if (rented is not null)
                ArrayPool<byte>.Shared.Return(rented);
        }
    }

    /// <summary>
    /// Decodes a stored block, verifying length, authentication and checksum; never returns bytes that differ from
    /// what was encoded. Plain blocks come back as a slice of <paramref name="stored"/> without copying.
    /// </summary>
    /// <exception cref="CorruptObjectException">The object is truncated, damaged, swapped or under another key.</exception>
    public ReadOnlyMemory<byte> Decode(string objectKey, ReadOnlyMemory<byte> stored)
    {
        if (stored.Length < HeaderBytes)
            throw Corrupt(objectKey, $"{stored.Length} bytes is shorter than a block header");
        var header = stored.Span[..HeaderBytes];
        if (BinaryPrimitives.ReadUInt32LittleEndian(header) != Magic)
            throw Corrupt(objectKey, "bad magic");
        if (header[4] != Version)
            throw Corrupt(objectKey, $"unknown block format version {header[4]}");
        var compression = (BlockCompression)header[5];
        if (compression is not (BlockCompression.None or BlockCompression.Lz4 or BlockCompression.Zstd))
            throw Corrupt(objectKey, $"unknown compression {header[5]}");
        var flags = header[6];
        if ((flags & ~EncryptedFlag) != 0 || header[7] != 0)
            throw Corrupt(objectKey, "unknown header flags");
        var rawLength = BinaryPrimitives.ReadUInt32LittleEndian(header[8..]);
        var payloadLength = BinaryPrimitives.ReadUInt32LittleEndian(header[12..]);
        if (rawLength > MaxRawBytes || payloadLength > MaxRawBytes)
            throw Corrupt(objectKey, "block length out of range");
        if (compression == BlockCompression.None && payloadLength != rawLength)
            throw Corrupt(objectKey, "stored length differs from raw length");

        var encrypted = (flags & EncryptedFlag) != 0;
        if (encrypted && _key is null)
            throw Corrupt(objectKey, "block is encrypted but the volume is opened without a key");
        if (!encrypted && _key is not null)
            throw Corrupt(objectKey, "block is not encrypted on an encrypted volume");

        var bodyLength = ChecksumBytes + (int)payloadLength;
        var expectedLength = HeaderBytes + bodyLength + (encrypted ? NonceBytes + TagBytes : 0);
        if (stored.Length != expectedLength)
            throw Corrupt(objectKey, $"object is {stored.Length} bytes, its header says {expectedLength} (torn or truncated)");

        if (!encrypted)
            return Unpack(objectKey, compression, stored.Slice(HeaderBytes, bodyLength), (int)rawLength);

        // Decrypted plain blocks are returned from the decryption buffer itself, so that buffer is not pooled.
        var body = new byte[bodyLength];
        var associated = AssociatedData(header, objectKey);
        try
        {
            using var aes = new AesGcm(_key!, TagBytes);
            aes.Decrypt(
                stored.Span.Slice(HeaderBytes, NonceBytes),
                stored.Span.Slice(HeaderBytes + NonceBytes, bodyLength),
                stored.Span.Slice(HeaderBytes + NonceBytes + bodyLength, TagBytes),
                body,
                associated);
        }
        catch (AuthenticationTagMismatchException)
        {
            throw Corrupt(objectKey, "authentication failed: wrong key, damaged object, or an object stored under another key");
        }
        return Unpack(objectKey, compression, body, (int)rawLength);
    }

    private static ReadOnlyMemory<byte> Unpack(string objectKey, BlockCompression compression, ReadOnlyMemory<byte> body, int rawLength)
    {
        var expected = BinaryPrimitives.ReadUInt64LittleEndian(body.Span);
        var payload = body[ChecksumBytes..];
        ReadOnlyMemory<byte> raw;
        if (compression == BlockCompression.None)
        {
            raw = payload;
        }
        else
        {
            var decompressed = new byte[rawLength];
            int produced;
            try
            {
                produced = Decompress(compression, payload.Span, decompressed);
            }
            catch (Exception e) when (e is ZstdException or InvalidDataException or ArgumentException or IndexOutOfRangeException)
            {
                throw Corrupt(objectKey, $"{compression.Name()} payload does not decompress: {e.Message}");
            }
            if (produced != rawLength)
                throw Corrupt(objectKey, $"{compression.Name()} payload decompressed to {produced} bytes, expected {rawLength}");
            raw = decompressed;
        }
        if (Checksum(objectKey, raw.Span) != expected)
            throw Corrupt(objectKey, "checksum mismatch (damaged, or stored under another key)");
        return raw;
    }

    private static ulong Checksum(string objectKey, ReadOnlySpan<byte> raw)
    {
        var seed = unchecked((long)XxHash3.HashToUInt64(Encoding.UTF8.GetBytes(objectKey)));
        return XxHash3.HashToUInt64(raw, seed);
    }

    private static void WriteHeader(Span<byte> destination, BlockCompression compression, byte flags, int rawLength, int payloadLength)
    {
        BinaryPrimitives.WriteUInt32LittleEndian(destination, Magic);
        destination[4] = Version;
        destination[5] = (byte)compression;
        destination[6] = flags;
        destination[7] = 0;
        BinaryPrimitives.WriteUInt32LittleEndian(destination[8..], (uint)rawLength);
        BinaryPrimitives.WriteUInt32LittleEndian(destination[12..], (uint)payloadLength);
    }

    private static byte[] AssociatedData(ReadOnlySpan<byte> header, string objectKey)
    {
        var associated = new byte[HeaderBytes + Encoding.UTF8.GetByteCount(objectKey)];
        header.CopyTo(associated);
        Encoding.UTF8.GetBytes(objectKey, associated.AsSpan(HeaderBytes));
        return associated;
    }

    private static int MaxCompressedBytes(BlockCompression compression, int rawLength) => compression switch
    {
        BlockCompression.Lz4 => LZ4Codec.MaximumOutputSize(rawLength),
        BlockCompression.Zstd => Compressor.GetCompressBound(rawLength),
        _ => rawLength,
    };

    /// <summary>Compresses into destination; returns the compressed length, or 0 when it did not fit.</summary>
    private static int Compress(BlockCompression compression, ReadOnlySpan<byte> raw, Span<byte> destination)
    {
        switch (compression)
        {
            case BlockCompression.Lz4:
                return Math.Max(0, LZ4Codec.Encode(raw, destination, LZ4Level.L00_FAST));
            case BlockCompression.Zstd:
                var compressor = t_zstdCompressor ??= new Compressor(ZstdLevel);
                return compressor.TryWrap(raw, destination, out var written) ? written : 0;
            default:
                throw new ArgumentOutOfRangeException(nameof(compression), compression, null);
        }
    }

    private static int Decompress(BlockCompression compression, ReadOnlySpan<byte> payload, Span<byte> destination)
    {
        switch (compression)
        {
            case BlockCompression.Lz4:
                return LZ4Codec.Decode(payload, destination);
            case BlockCompression.Zstd:
                var decompressor = t_zstdDecompressor ??= new Decompressor();
                return decompressor.TryUnwrap(payload, destination, out var written) ? written : -1;
            default:
                throw new ArgumentOutOfRangeException(nameof(compression), compression, null);
        }
    }

    private static CorruptObjectException Corrupt(string objectKey, string reason) => new(objectKey, reason);
}
