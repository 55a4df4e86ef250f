using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Microsoft.Extensions.Logging;

namespace Protocols.Fuse.Kernel;

/// <summary>Handles the requests of a FUSE connection; every request except FORGET must be answered exactly once.</summary>
internal interface IFuseRequestHandler
{
    ValueTask HandleAsync(FuseRequest request);
}

/// <summary>
/// The connection to the kernel: INIT, the reader threads (one per cloned /dev/fuse descriptor), pooled request
/// buffers, interrupts of waiting requests, and notifications. Knows the protocol, not the file system.
/// </summary>
internal sealed class FuseChannel : IDisposable
{
    /// <summary>Header and write_in in front of the largest WRITE payload, rounded to a page.</summary>
    private const int RequestOverhead = FuseConstants.PageSize;
    private const int MaxEarlyInterrupts = 256;

    private readonly FuseDevice _master;
    private readonly List<FuseDevice> _devices = [];
    private readonly ConcurrentStack<FuseRequest> _pool = new();
    private readonly ConcurrentDictionary<ulong, CancellationTokenSource> _waiting = new();
    private readonly ConcurrentDictionary<ulong, byte> _earlyInterrupts = new();
    private readonly TaskCompletionSource _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly ILogger _logger;
    private readonly int _bufferSize;
    private readonly int _poolLimit;
    private IFuseRequestHandler? _handler;
    private int _pending;

    public FuseChannel(FuseDevice master, int maxWrite, int readers, ILogger logger)
    {
        _master = master;
        _devices.Add(master);
        _logger = logger;
        _bufferSize = Math.Max(FuseConstants.MinReadBuffer, maxWrite + RequestOverhead);
        _poolLimit = readers * 4;
    }

    public FuseConnectionInfo? Info { get; private set; }

    /// <summary>True once the kernel sent DESTROY (it is about to end the connection).</summary>
    public bool Destroyed { get; private set; }

    /// <summary>Completes when every reader has stopped and every request taken has been answered.</summary>
    public Task Completion => _completion.Task;

    /// <summary>Reads INIT from the kernel (blocking) and answers it.</summary>
    public FuseConnectionInfo Initialize(FuseInitRequest wanted)
    {
        var request = Rent();
        try
        {
            var n = _master.ReadRequest(request.Buffer);
            if (n == 0)
                throw new FuseMountException("the FUSE connection ended before INIT");
            if (!request.Accept(_master, n) || request.Opcode != FuseOpcode.Init || !request.HasInput<FuseInitIn>())
                throw new FuseMountException($"the kernel's first FUSE request was {request.Opcode}, not a well-formed INIT");
            var offer = request.Read<FuseInitIn>();
            FuseInitOut reply;
            FuseConnectionInfo info;
            try
            {
                (reply, info) = FuseInitNegotiation.Negotiate(offer, wanted);
            }
            catch (FuseMountException)
            {
                request.Fail(71); // EPROTO: the kernel then fails the mount
                throw;
            }
            request.Reply(reply);
            Info = info;
            return info;
        }
        finally
        {
            Return(request);
        }
    }

    /// <summary>Clones the descriptor for every reader but the first and starts the reader threads.</summary>
    public void Start(int readers, IFuseRequestHandler handler, Action? onReaderStart)
    {
        _handler = handler;
        for (var i = 1; i < readers; i++)
            _devices.Add(_master.Clone());
        Interlocked.Add(ref _pending, _devices.Count);
        for (var i = 0; i < _devices.Count; i++)
        {
            var device = _devices[i];
            var thread = new Thread(() =>
            {
                onReaderStart?.Invoke();
                ReadLoop(device);
            })
            {
                IsBackground = true,
                Name = $"fuse-reader-{i}",
            };
            thread.Start();
        }
    }

    /// <summary>Writes a notification (unique 0, the code in the error field); returns 0 or the errno the kernel gave.</summary>
    public int Notify(FuseNotifyCode code, ReadOnlySpan<byte> body)
    {
        var length = FuseOutHeader.Size + body.Length;
        var rented = length <= 512 ? null : new byte[length];
        Span<byte> message = rented ?? stackalloc byte[length];
        var header = new FuseOutHeader { Len = (uint)length, Error = (int)code, Unique = 0 };
        MemoryMarshal.Write(message, in header);
        body.CopyTo(message[FuseOutHeader.Size..]);
        return _master.Write(message);
    }

    public void Dispose()
    {
        foreach (var device in _devices)
            device.Dispose();
        foreach (var cts in _waiting.Values)
            cts.Dispose();
    }

    private void ReadLoop(FuseDevice device)
    {
        try
        {
            while (true)
            {
                var request = Rent();
                int n;
                try
                {
                    n = device.ReadRequest(request.Buffer);
                }
                catch (IOException e)
                {
                    Return(request);
                    _logger.LogError(e, "the FUSE reader stopped");
                    return;
                }
                if (n == 0)
                {
                    Return(request);
                    return;
                }
                if (!request.Accept(device, n))
                {
                    _logger.LogWarning("dropped a malformed FUSE request of {Length} bytes", n);
                    Return(request);
                    continue;
                }
                Dispatch(request);
            }
        }
        finally
        {
            Finish();
        }
    }

    private void Dispatch(FuseRequest request)
    {
        switch (request.Opcode)
        {
            case FuseOpcode.Interrupt:
                if (request.HasInput<FuseInterruptIn>())
                    Interrupt(request.Read<FuseInterruptIn>().Unique);
                Return(request);
                return;
            case FuseOpcode.Destroy:
                Destroyed = true;
                request.Reply(0);
                Return(request);
                return;
            case FuseOpcode.Init:
                request.Fail(71);
                Return(request);
                return;
            case FuseOpcode.SetLkW:
                Interruptible(request);
                break;
        }
        Interlocked.Increment(ref _pending);
        ValueTask handled;
        try
        {
            handled = _handler!.HandleAsync(request);
        }
        catch (Exception e)
        {
            handled = ValueTask.FromException(e);
        }
        if (handled.IsCompletedSuccessfully)
            Complete(request);
        else
            _ = AwaitAsync(handled, request);
    }

    private async Task AwaitAsync(ValueTask handled, FuseRequest request)
    {
        try
        {
            await handled.ConfigureAwait(false);
        }
        catch (Exception e)
        {
            _logger.LogError(e, "FUSE {Opcode} on node {Node} failed", request.Opcode, request.NodeId);
            if (!request.Replied && request.Opcode is not (FuseOpcode.Forget or FuseOpcode.BatchForget))
                request.Fail(5);
        }
        finally
        {
            Complete(request);
        }
    }

    private void Complete(FuseRequest request)
    {
        if (request.Opcode == FuseOpcode.SetLkW && _waiting.TryRemove(request.Header.Unique, out var cts))
            cts.Dispose();
        Return(request);
        Finish();
    }

    private void Finish()
    {
        if (Interlocked.Decrement(ref _pending) == 0)
            _completion.TrySetResult();
    }

    private void Interruptible(FuseRequest request)
    {
        var cts = new CancellationTokenSource();
        var unique = request.Header.Unique;
        _waiting[unique] = cts;
        // The INTERRUPT may have been read by another reader before this request was registered.
        if (_earlyInterrupts.TryRemove(unique, out _))
            cts.Cancel();
        request.Cancellation = cts.Token;
    }

    private void Interrupt(ulong unique)
    {
        if (_waiting.TryGetValue(unique, out var cts))
        {
            try
            {
                cts.Cancel();
            }
            catch (ObjectDisposedException)
            {
                // The request finished in the meantime.
            }
            return;
        }
        // Interrupts of requests that cannot wait are ignored (the kernel waits for their answer); remember a few in
        // case the request they name is a SETLKW another reader has not registered yet.
        if (_earlyInterrupts.Count >= MaxEarlyInterrupts)
            _earlyInterrupts.Clear();
        _earlyInterrupts[unique] = 0;
    }

    private FuseRequest Rent() => _pool.TryPop(out var request) ? request : new FuseRequest(_bufferSize);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void Return(FuseRequest request)
    {
        if (_pool.Count < _poolLimit)
            _pool.Push(request);
    }
}
