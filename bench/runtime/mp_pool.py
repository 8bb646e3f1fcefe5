"""Pool(4).map over 2,000 tiny tasks."""
import multiprocessing


def square(x):
    return x * x


if __name__ == "__main__":
    with multiprocessing.Pool(4) as pool:
        out = pool.map(square, range(2000))
    assert out[-1] == 1999 * 1999
