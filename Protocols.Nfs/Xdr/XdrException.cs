namespace Protocols.Nfs.Xdr;

/// <summary>Thrown when XDR data is truncated or breaks a declared limit; the RPC layer answers GARBAGE_ARGS.</summary>
public sealed class XdrException(string message) : Exception(message);
