namespace Protocols.Nfs.Rpc;

/// <summary>The accept_stat of an accepted RPC reply (RFC 5531 section 9).</summary>
public enum RpcAcceptStatus : uint
{
    Success = 0,
    ProgUnavail = 1,
    ProgMismatch = 2,
    ProcUnavail = 3,
    GarbageArgs = 4,
    SystemErr = 5,
}

/// <summary>Authentication flavors (RFC 5531 section 8.2).</summary>
public enum AuthFlavor : uint
{
    None = 0,
    Sys = 1,
    Short = 2,
    Dh = 3,
    RpcSecGss = 6,
}

/// <summary>Why a call's credentials were refused (auth_stat, RFC 5531 section 9).</summary>
public enum AuthStatus : uint
{
    Ok = 0,
    BadCred = 1,
    RejectedCred = 2,
    BadVerf = 3,
    RejectedVerf = 4,
    TooWeak = 5,
}

/// <summary>Wire constants of ONC RPC version 2.</summary>
public static class RpcProtocol
{
    public const uint Version = 2;
    public const uint MsgCall = 0;
    public const uint MsgReply = 1;
    public const uint ReplyAccepted = 0;
    public const uint ReplyDenied = 1;
    public const uint RejectRpcMismatch = 0;
    public const uint RejectAuthError = 1;
    /// <summary>RFC 5531 caps credential and verifier bodies at 400 bytes.</summary>
    public const int MaxAuthBytes = 400;
    /// <summary>Set on the record mark of the last fragment of a record (RFC 5531 section 11).</summary>
    public const uint LastFragment = 0x8000_0000;
}

/// <summary>Which transport a call came over; replies go back the same way.</summary>
public enum RpcTransport : byte
{
    Tcp,
    Udp,
}
