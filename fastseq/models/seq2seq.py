"""The book's sequence-to-sequence models on fastseq's layers (structures shared with
``fastseq.reference.seq2seq``): Seq2seq, PeekySeq2seq, AttentionSeq2seq and their parts."""
from fastseq.layers import time_layers
from fastseq.models.base import BaseModel
from fastseq.reference import seq2seq as structure

__all__ = ["Encoder", "Decoder", "PeekyDecoder", "Seq2seq", "PeekySeq2seq", "AttentionEncoder",
           "AttentionDecoder", "AttentionSeq2seq"]


class Encoder(structure.Encoder):
    layer_module = time_layers


class Decoder(structure.Decoder):
    layer_module = time_layers


class PeekyDecoder(structure.PeekyDecoder):
    layer_module = time_layers


class AttentionEncoder(structure.AttentionEncoder):
    layer_module = time_layers


class AttentionDecoder(structure.AttentionDecoder):
    layer_module = time_layers


class Seq2seq(structure.Seq2seq, BaseModel):
    """``Seq2seq(vocab_size, wordvec_size, hidden_size)`` as in the book, fast layers."""
    layer_module = time_layers
    encoder_class, decoder_class = Encoder, Decoder


class PeekySeq2seq(structure.PeekySeq2seq, BaseModel):
    """``PeekySeq2seq(vocab_size, wordvec_size, hidden_size)`` as in the book, fast layers."""
    layer_module = time_layers
    encoder_class, decoder_class = Encoder, PeekyDecoder


class AttentionSeq2seq(structure.AttentionSeq2seq, BaseModel):
    """``AttentionSeq2seq(vocab_size, wordvec_size, hidden_size)`` as in the book, fast layers;
    after ``generate``, ``decoder.attention.attention_weights`` holds one (1, Te) array per step."""
    layer_module = time_layers
    encoder_class, decoder_class = AttentionEncoder, AttentionDecoder
