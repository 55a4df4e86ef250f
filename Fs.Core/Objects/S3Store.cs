using System.Buffers;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Amazon;
using Amazon.Runtime;
using Amazon.Runtime.Credentials;
using Amazon.S3;
using Amazon.S3.Model;
using Fs.Core.Vfs;

namespace Fs.Core.Objects;

/// <summary>An object store on an S3 bucket (AWS or any S3-compatible server) that rides out short outages by retrying.</summary>
public sealed class S3Store : IObjectStore
{
    private const int ListPageSize = 1000;

    private readonly S3Location _location;
    private readonly S3StoreOptions _options;
    private readonly AmazonS3Client _client;

    /// <summary>Opens a store with credentials from the standard AWS chain (environment, profile, instance role).</summary>
    /// <exception cref="VolumeException">No credentials were found.</exception>
    public S3Store(S3Location location, S3StoreOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(location);
        _location = location;
        _options = options ?? new S3StoreOptions();
        var config = ClientConfig(location, _options);
        _client = new AmazonS3Client(ResolveCredentials(location, config), config);
    }

    public string Description => _location.ToString();

    public S3Location Location => _location;

    public async Task CreateAsync(CancellationToken ct)
    {
        await RunAsync("create bucket", null, async attempt =>
        {
            var request = new PutBucketRequest { BucketName = _location.Bucket };
            // us-east-1 is the one region that refuses an explicit location constraint.
            if (_location.Endpoint is null && _client.Config.RegionEndpoint is { } region && region.SystemName != S3Location.DefaultRegion)
                request.BucketRegionName = region.SystemName;
            try
            {
                await _client.PutBucketAsync(request, attempt).ConfigureAwait(false);
            }
            catch (AmazonS3Exception e) when (e.ErrorCode == "BucketAlreadyOwnedByYou")
            {
            }
            catch (AmazonS3Exception e) when (e.ErrorCode == "BucketAlreadyExists")
            {
                // AWS says this when another account owns the name; some S3-compatible servers (s3rver) say it for the
                // caller's own bucket too. Being allowed to list it tells the two apart.
                try
                {
                    await _client.ListObjectsV2Async(new ListObjectsV2Request { BucketName = _location.Bucket, MaxKeys = 1 }, attempt).ConfigureAwait(false);
                }
                catch (AmazonS3Exception denied) when (denied.StatusCode is HttpStatusCode.Forbidden)
                {
                    throw new VolumeException($"bucket '{_location.Bucket}' exists and belongs to someone else", denied);
                }
            }
            return true;
        }, ct).ConfigureAwait(false);
    }

    public async Task PutAsync(string key, ReadOnlyMemory<byte> data, CancellationToken ct)
    {
        ObjectKeys.Validate(key);
        // The SDK reads the body through a seekable stream (it hashes it, then sends it): one over the caller's memory,
        // which is an array or a block buffer's pinned mapping, so the block is not copied first.
        var isArray = MemoryMarshal.TryGetArray(data, out var segment);
        using var pin = isArray ? default : data.Pin();
        await RunAsync("PUT", key, async attempt =>
        {
            using Stream stream = isArray ? new MemoryStream(segment.Array!, segment.Offset, segment.Count, writable: false) : PinnedStream(pin, data.Length);
            var request = new PutObjectRequest
            {
                BucketName = _location.Bucket,
                Key = _location.Prefix + key,
                InputStream = stream,
                AutoCloseStream = false,
                // One signed body rather than aws-chunked framing: S3 still checks the body against its SHA-256, and
                // servers that do not speak aws-chunked (s3rver) would otherwise store the framing as data.
                UseChunkEncoding = false,
            };
            request.Headers.ContentLength = data.Length;
            await _client.PutObjectAsync(request, attempt).ConfigureAwait(false);
            return true;
        }, ct).ConfigureAwait(false);
    }

    private static unsafe UnmanagedMemoryStream PinnedStream(MemoryHandle pin, int length) => new((byte*)pin.Pointer, length);

    public async Task<byte[]> GetAsync(string key, CancellationToken ct)
    {
        byte[]? data = null;
        await GetBodyAsync(key, length => data = new byte[length], rangeBytes: null, ct).ConfigureAwait(false);
        return data!;
    }

    /// <remarks>
    /// Asks for the bytes the memory can hold as a range. The SDK checks a whole-object GET's body against an MD5 ETag
    /// with a managed MD5 that costs several times the CPU of the transfer; a range is not checked that way. What is
    /// read this way is a block, whose codec checksum (and authentication tag, when encrypted) is checked on every read.
    /// </remarks>
    public async Task<int> GetAsync(string key, Memory<byte> destination, CancellationToken ct)
    {
        var body = await GetBodyAsync(key, length => length <= destination.Length
            ? destination[..length]
            : throw new CorruptObjectException(key, $"object is {length} bytes, more than the {destination.Length} it can be"),
            destination.Length, ct).ConfigureAwait(false);
        return body.Length;
    }

    /// <summary>
    /// One GET with retries; the body is read into the memory <paramref name="place"/> gives for its length. With
    /// <paramref name="rangeBytes"/>, at most that many bytes are asked for, as a range; <paramref name="place"/> is then
    /// given the whole object's length, from the range's reply.
    /// </summary>
    private Task<Memory<byte>> GetBodyAsync(string key, Func<int, Memory<byte>> place, int? rangeBytes, CancellationToken ct)
    {
        ObjectKeys.Validate(key);
        return RunAsync("GET", key, async attempt =>
        {
            try
            {
                var request = new GetObjectRequest { BucketName = _location.Bucket, Key = _location.Prefix + key };
                if (rangeBytes is > 0)
                    request.ByteRange = new ByteRange(0, rangeBytes.Value - 1);
                using var response = await _client.GetObjectAsync(request, attempt).ConfigureAwait(false);
                var length = rangeBytes is > 0 ? ObjectLength(key, response) : response.ContentLength;
                if (response.ContentLength < 0 || length is < 0 or > int.MaxValue)
                    throw new IOException($"{_location.NameOf(key)} has an unreadable length {length}");
                var data = place((int)length);
                // An empty object has no byte to give: S3 answers its range 416 (below), s3rver with one stray byte.
                if (data.Length == 0)
                    return data;
                if (data.Length != response.ContentLength)
                    throw new IOException($"{_location.NameOf(key)}: {response.ContentLength} bytes came for a range of {data.Length}");
                // A connection cut mid-body ends the stream early: EndOfStreamException, retried like any cut.
                await response.ResponseStream.ReadExactlyAsync(data, attempt).ConfigureAwait(false);
                return data;
            }
            catch (AmazonS3Exception e) when (e.StatusCode == HttpStatusCode.NotFound && e.ErrorCode != "NoSuchBucket")
            {
                throw new ObjectNotFoundException(key);
            }
            catch (AmazonS3Exception e) when (e.StatusCode == HttpStatusCode.RequestedRangeNotSatisfiable && rangeBytes is > 0)
            {
                // No byte of the range exists: the object is empty.
                return place(0);
            }
            catch (AmazonClientException e) when (e.Message.Contains("hash", StringComparison.OrdinalIgnoreCase))
            {
                // The SDK checks the body against the object's MD5 ETag. A mismatch is a body damaged on the way, or
                // torn by an overwrite on a server whose writes are not atomic (s3rver): another read gets it whole.
                throw new IOException($"{_location.NameOf(key)}: the body did not match its ETag", e);
            }
            catch (ArgumentException e)
            {
                // The key was checked before the request, so this is the SDK failing to parse the answer, e.g. a
                // truncated ETag from a server caught mid-overwrite: a malformed response, worth another read.
                throw new IOException($"{_location.NameOf(key)}: malformed response: {e.Message}", e);
            }
        }, ct);
    }

    /// <summary>The whole object's length from a range reply's Content-Range (<c>bytes 0-N/LENGTH</c>), or the body's when the server sent it whole.</summary>
    private long ObjectLength(string key, GetObjectResponse response)
    {
        var range = response.ContentRange;
        if (string.IsNullOrEmpty(range))
            return response.ContentLength;
        var slash = range.LastIndexOf('/');
        if (slash < 0 || !long.TryParse(range.AsSpan(slash + 1), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var length))
            throw new IOException($"{_location.NameOf(key)}: unreadable Content-Range '{range}'");
        return length;
    }

    /// <summary>A PUT that S3 acknowledged is already durable.</summary>
    public Task SyncAsync(CancellationToken ct) => Task.CompletedTask;

    public async Task DeleteAsync(string key, CancellationToken ct)
    {
        ObjectKeys.Validate(key);
        await RunAsync("DELETE", key, async attempt =>
        {
            await _client.DeleteObjectAsync(_location.Bucket, _location.Prefix + key, attempt).ConfigureAwait(false);
            return true;
        }, ct).ConfigureAwait(false);
    }

    public Task<long?> HeadAsync(string key, CancellationToken ct)
    {
        ObjectKeys.Validate(key);
        return RunAsync("HEAD", key, async attempt =>
        {
            try
            {
                var response = await _client.GetObjectMetadataAsync(_location.Bucket, _location.Prefix + key, attempt).ConfigureAwait(false);
                return (long?)response.ContentLength;
            }
            catch (AmazonS3Exception e) when (e.StatusCode == HttpStatusCode.NotFound)
            {
                return null;
            }
        }, ct);
    }

    public async IAsyncEnumerable<ObjectInfo> ListAsync(string prefix, [EnumeratorCancellation] CancellationToken ct)
    {
        ObjectKeys.ValidatePrefix(prefix);
        string? last = null;
        while (true)
        {
            // Pages are chained by StartAfter (the last key seen) rather than by continuation token: the same on AWS,
            // and it also works on servers whose tokens are broken (s3rver's need DES, which current Node lacks).
            var page = await RunAsync("LIST", prefix + "*", attempt => _client.ListObjectsV2Async(new ListObjectsV2Request
            {
                BucketName = _location.Bucket,
                Prefix = _location.Prefix + prefix,
                StartAfter = last,
                MaxKeys = ListPageSize,
            }, attempt), ct).ConfigureAwait(false);
            var items = page.S3Objects ?? [];
            // S3 lists in UTF-8 byte order, which is ordinal order for the ASCII keys a volume writes. Some
            // S3-compatible servers order a page as a directory walk ("a/b" before "a-"); sorting the page repairs that,
            // and a page that reaches back behind the previous one is refused rather than silently mis-ordered.
            items.Sort((a, b) => string.CompareOrdinal(a.Key, b.Key));
            foreach (var item in items)
            {
                if (last is not null && string.CompareOrdinal(item.Key, last) <= 0)
                    throw new IOException($"{_location.NameOf(prefix)}*: LIST returned '{item.Key}' after '{last}'; the server does not list in key order");
                last = item.Key;
                if (item.Key.StartsWith(_location.Prefix, StringComparison.Ordinal))
                    yield return new ObjectInfo(item.Key[_location.Prefix.Length..], item.Size ?? 0, item.LastModified?.ToUniversalTime() ?? default);
            }
            if (page.IsTruncated != true || items.Count == 0)
                yield break;
        }
    }

    public ValueTask DisposeAsync()
    {
        _client.Dispose();
        return ValueTask.CompletedTask;
    }

    private static AmazonS3Config ClientConfig(S3Location location, S3StoreOptions options)
    {
        var config = new AmazonS3Config
        {
            ForcePathStyle = location.PathStyle,
            RetryMode = RequestRetryMode.Standard,
            MaxErrorRetry = options.SdkRetries,
            Timeout = options.RequestTimeout,
            ConnectTimeout = options.ConnectTimeout,
            // Blocks carry their own checksum (BlockCodec) and uploads are signed with the body's SHA-256; the SDK's
            // default extra checksums would need aws-chunked trailers, which S3-compatible servers often reject.
            RequestChecksumCalculation = RequestChecksumCalculation.WHEN_REQUIRED,
            ResponseChecksumValidation = ResponseChecksumValidation.WHEN_REQUIRED,
        };
        if (location.Endpoint is not null)
        {
            config.ServiceURL = location.Endpoint.ToString();
            config.AuthenticationRegion = location.Region ?? S3Location.DefaultRegion;
        }
        else
        {
            config.RegionEndpoint = location.Region is not null
                ? RegionEndpoint.GetBySystemName(location.Region)
                : FallbackRegionFactory.GetRegionEndpoint() ?? RegionEndpoint.GetBySystemName(S3Location.DefaultRegion);
        }
        return config;
    }

    private static AWSCredentials ResolveCredentials(S3Location location, AmazonS3Config config)
    {
        try
        {
            return DefaultAWSCredentialsIdentityResolver.GetCredentials(config);
        }
        catch (AmazonClientException e)
        {
            throw new VolumeException(
                $"no AWS credentials for {location}: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, choose a profile with AWS_PROFILE, or run with an instance role",
                e);
        }
    }

    /// <summary>
    /// Runs one request, retrying failures that a later attempt can cure (unreachable server, timeouts, 5xx,
    /// throttling) with exponential backoff and jitter until <see cref="S3StoreOptions.RetryWindow"/> is spent. Every
    /// failure that escapes names the object, so the log line the Vfs writes for the EIO says which one.
    /// </summary>
    private async Task<T> RunAsync<T>(string operation, string? key, Func<CancellationToken, Task<T>> request, CancellationToken ct)
    {
        var started = Stopwatch.GetTimestamp();
        var backoff = _options.InitialBackoff;
        for (var attempt = 1; ; attempt++)
        {
            Exception failure;
            using (var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct))
            {
                timeout.CancelAfter(_options.RequestTimeout);
                try
                {
                    return await request(timeout.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException e) when (!ct.IsCancellationRequested)
                {
                    failure = new TimeoutException($"no answer within {_options.RequestTimeout.TotalSeconds:F0} s", e);
                }
                catch (Exception e) when (IsTransient(e))
                {
                    failure = e;
                }
                catch (AmazonServiceException e)
                {
                    throw new IOException($"{Name(key)}: {operation} failed: {e.ErrorCode ?? e.StatusCode.ToString()}: {e.Message}", e);
                }
            }

            var elapsed = Stopwatch.GetElapsedTime(started);
            var delay = backoff * (0.5 + Random.Shared.NextDouble() / 2);
            if (elapsed + delay > _options.RetryWindow)
            {
                throw new IOException(
                    $"{Name(key)}: {operation} failed after {attempt} attempts in {elapsed.TotalSeconds:F1} s: {failure.Message}", failure);
            }
            await Task.Delay(delay, ct).ConfigureAwait(false);
            backoff = TimeSpan.FromTicks(Math.Min(backoff.Ticks * 2, _options.MaxBackoff.Ticks));
        }
    }

    private string Name(string? key) => key is null ? _location.ToString() : _location.NameOf(key);

    /// <summary>Failures of the path to the server or of the server itself, as opposed to answers about the request.</summary>
    private static bool IsTransient(Exception e) => e switch
    {
        AmazonServiceException service when service.StatusCode is >= HttpStatusCode.InternalServerError or HttpStatusCode.TooManyRequests
            or HttpStatusCode.RequestTimeout => true,
        AmazonServiceException { ErrorCode: "SlowDown" or "RequestTimeout" or "InternalError" } => true,
        AmazonServiceException { StatusCode: 0, InnerException: { } inner } => IsTransient(inner),
        AmazonClientException { InnerException: { } inner } => IsTransient(inner),
        HttpRequestException or SocketException or IOException or TimeoutException => true,
        _ => false,
    };
}
