using Protocols.Nfs.Xdr;

namespace Protocols.Nfs.Rpc;

/// <summary>An RPC program served by the dispatcher: NFS, MOUNT, NLM, NSM or the portmapper.</summary>
public interface IRpcProgram
{
    uint Program { get; }

    uint LowVersion { get; }

    uint HighVersion { get; }

    /// <summary>
    /// Decodes the call's arguments and writes its results after the accepted-reply header already in
    /// <paramref name="reply"/>. A status other than Success makes the dispatcher discard what was written and send
    /// that status. An <see cref="XdrException"/> thrown while decoding becomes GARBAGE_ARGS.
    /// </summary>
    ValueTask<RpcAcceptStatus> HandleAsync(RpcCall call, XdrWriter reply, CancellationToken ct);
}

/// <summary>Thrown by a program to refuse a call's credentials (answered MSG_DENIED / AUTH_ERROR).</summary>
public sealed class RpcAuthException(AuthStatus status) : Exception($"credentials refused: {status}")
{
    public AuthStatus Status { get; } = status;
}
