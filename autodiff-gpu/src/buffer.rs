//! Device buffers of `f32`: upload, read back, and the arguments of kernels.

use wgpu::util::DeviceExt;

use crate::{Gpu, GpuError};

/// An array of `f32` in device memory.
#[derive(Debug)]
pub struct GpuBuffer {
    pub(crate) buffer: wgpu::Buffer,
    pub(crate) len: usize,
}

impl GpuBuffer {
    /// How many `f32` it holds.
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

const USAGE: wgpu::BufferUsages = wgpu::BufferUsages::STORAGE
    .union(wgpu::BufferUsages::COPY_SRC)
    .union(wgpu::BufferUsages::COPY_DST);

impl Gpu {
    /// The largest buffer a kernel can bind, in bytes.
    fn max_binding(&self) -> u64 {
        let l = self.device.limits();
        l.max_buffer_size.min(l.max_storage_buffer_binding_size)
    }

    fn check_size(&self, len: usize, what: &str) -> Result<u64, GpuError> {
        // Never a zero-sized buffer: wgpu refuses to bind one.
        let bytes = (len.max(1) as u64) * 4;
        let limit = self.max_binding();
        if bytes > limit {
            return Err(GpuError::TooLarge {
                what: format!("{what} of {len} f32"),
                bytes,
                limit,
            });
        }
        Ok(bytes)
    }

    /// Copies `data` to a new device buffer.
    pub fn upload(&self, data: &[f32]) -> Result<GpuBuffer, GpuError> {
        self.check_size(data.len(), "a buffer")?;
        let contents: &[u8] = if data.is_empty() {
            &[0; 4]
        } else {
            bytemuck::cast_slice(data)
        };
        let buffer = self
            .device
            .create_buffer_init(&wgpu::util::BufferInitDescriptor {
                label: None,
                contents,
                usage: USAGE,
            });
        Ok(GpuBuffer {
            buffer,
            len: data.len(),
        })
    }

    /// A new device buffer of `len` zeros.
    pub fn zeros(&self, len: usize) -> Result<GpuBuffer, GpuError> {
        let size = self.check_size(len, "a buffer")?;
        let buffer = self.device.create_buffer(&wgpu::BufferDescriptor {
            label: None,
            size,
            usage: USAGE,
            mapped_at_creation: false,
        });
        Ok(GpuBuffer { buffer, len })
    }

    /// Copies a device buffer back to the host (waiting for the kernels
    /// that write it).
    pub fn read(&self, b: &GpuBuffer) -> Result<Vec<f32>, GpuError> {
        if b.len == 0 {
            return Ok(Vec::new());
        }
        let size = (b.len as u64) * 4;
        let staging = self.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("read back"),
            size,
            usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        let mut encoder = self
            .device
            .create_command_encoder(&wgpu::CommandEncoderDescriptor::default());
        encoder.copy_buffer_to_buffer(&b.buffer, 0, &staging, 0, size);
        self.queue.submit([encoder.finish()]);
        let (tx, rx) = std::sync::mpsc::channel();
        staging.map_async(wgpu::MapMode::Read, .., move |r| {
            let _ = tx.send(r);
        });
        self.synchronize()?;
        rx.recv()
            .map_err(|e| GpuError::Wgpu(e.to_string()))?
            .map_err(|e| GpuError::Wgpu(format!("reading a buffer back: {e}")))?;
        let view = staging
            .get_mapped_range(..)
            .map_err(|e| GpuError::Wgpu(e.to_string()))?;
        let out = bytemuck::cast_slice(&view).to_vec();
        drop(view);
        staging.unmap();
        Ok(out)
    }

    /// Copies `src` into `dst` on the device (as long as the shorter).
    pub fn copy(&self, src: &GpuBuffer, dst: &GpuBuffer) {
        let mut encoder = self
            .device
            .create_command_encoder(&wgpu::CommandEncoderDescriptor::default());
        let bytes = (src.len.min(dst.len) as u64) * 4;
        encoder.copy_buffer_to_buffer(&src.buffer, 0, &dst.buffer, 0, bytes);
        self.queue.submit([encoder.finish()]);
    }

    /// A small uniform buffer of parameters.
    pub(crate) fn uniform(&self, words: &[u32]) -> wgpu::Buffer {
        let mut padded = words.to_vec();
        padded.resize(words.len().div_ceil(4).max(1) * 4, 0);
        self.device
            .create_buffer_init(&wgpu::util::BufferInitDescriptor {
                label: Some("parameters"),
                contents: bytemuck::cast_slice(&padded),
                usage: wgpu::BufferUsages::UNIFORM,
            })
    }

    /// A storage buffer of `u32` (labels).
    pub(crate) fn upload_u32(&self, data: &[u32]) -> Result<wgpu::Buffer, GpuError> {
        self.check_size(data.len(), "a buffer")?;
        let mut words = data.to_vec();
        if words.is_empty() {
            words.push(0);
        }
        Ok(self
            .device
            .create_buffer_init(&wgpu::util::BufferInitDescriptor {
                label: None,
                contents: bytemuck::cast_slice(&words),
                usage: wgpu::BufferUsages::STORAGE,
            }))
    }
}

/// An argument of a kernel: values on the host (uploaded for the call) or
/// a device buffer. A kernel over `n` elements takes arguments of length
/// `n`, or of length 1 for a value shared by every element.
#[derive(Clone, Copy, Debug)]
pub enum MapArg<'a> {
    Host(&'a [f32]),
    Device(&'a GpuBuffer),
}

impl MapArg<'_> {
    pub fn len(&self) -> usize {
        match self {
            MapArg::Host(x) => x.len(),
            MapArg::Device(b) => b.len,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl<'a> From<&'a [f32]> for MapArg<'a> {
    fn from(x: &'a [f32]) -> Self {
        MapArg::Host(x)
    }
}

impl<'a> From<&'a Vec<f32>> for MapArg<'a> {
    fn from(x: &'a Vec<f32>) -> Self {
        MapArg::Host(x)
    }
}

impl<'a, const N: usize> From<&'a [f32; N]> for MapArg<'a> {
    fn from(x: &'a [f32; N]) -> Self {
        MapArg::Host(x)
    }
}

impl<'a> From<&'a GpuBuffer> for MapArg<'a> {
    fn from(x: &'a GpuBuffer) -> Self {
        MapArg::Device(x)
    }
}
