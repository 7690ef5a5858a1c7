//! All generated gRPC code of jixiao, the file descriptor set for reflection,
//! and the conversions between wire types and domain types.

pub mod convert;
pub mod paging;

/// `jixiao.v1`: messages, clients and servers generated from `proto/jixiao/v1`.
pub mod v1 {
    #![allow(clippy::all, missing_docs)]
    tonic::include_proto!("jixiao.v1");
}

/// Encoded `FileDescriptorSet` of every jixiao proto, for gRPC reflection.
pub const FILE_DESCRIPTOR_SET: &[u8] = tonic::include_file_descriptor_set!("jixiao_descriptor");
