using System.Text.Json.Serialization;
using Fs.Core.Locks;

namespace Fs.Core.Meta;

/// <summary>JSON forms of the records engines store as documents (the volume format, an inode's locks).</summary>
[JsonSerializable(typeof(VolumeFormat))]
[JsonSerializable(typeof(List<LockRecord>))]
internal sealed partial class MetaJson : JsonSerializerContext;
