namespace Protocols.Nfs.Rpc;

/// <summary>A TCP record that breaks the framing rules (too long, empty fragment chain); the connection is closed.</summary>
public sealed class RpcRecordException(string message) : Exception(message);
