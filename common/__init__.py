"""What every layer of Tingxie shares, below `lm`: the one error type for bad input
(`common.errors`), opening and reading text files (`common.textio`), token lists
(`common.tokens`) and Kaldi tables: wav.scp and text (`common.kaldi`)."""
